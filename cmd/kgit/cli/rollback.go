package cli

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"
	"kgit.dev/kgit/reconcile"
)

type rollbackFlags struct {
	changeFlags
	to         string
	previous   bool
	allowEmpty bool
}

func newRollbackCmd(g *globals) *cobra.Command {
	f := &rollbackFlags{}
	cmd := &cobra.Command{
		Use:   "rollback [deploy/NAME] --to COMMIT | --previous",
		Short: "Roll a Deployment, or the whole app, back to the manifests of an earlier commit",
		Long: "Roll a Deployment (or, without a name, every object of the app, pruning included) back to\n" +
			"its manifests at an earlier commit, with the normal rolling update. The rollback is an\n" +
			"override: a sync of the same branch leaves it in place until the branch moves past the\n" +
			"commit it was made against; `kgit sync --force` drops it.",
		Args: rangeArgs(0, 1, "an optional deploy/NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (f.to == "") == !f.previous {
				return invalid("rollback: give exactly one of --to COMMIT and --previous")
			}
			app, err := g.appName()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				if name, err = deployArg(args[0]); err != nil {
					return err
				}
			} else if f.previous {
				return invalid("rollback --previous needs a deploy/NAME (revisions belong to a Deployment)")
			}
			src, err := g.source()
			if err != nil {
				return err
			}
			repo, err := gitsource.Open(cmd.Context(), src)
			if err != nil {
				return err
			}
			head, err := gitsource.ResolveCommit(repo, src.Ref)
			if err != nil {
				return err
			}
			return g.change(cmd.Context(), &f.changeFlags, app, true, func(ctx context.Context, b backend.Backend, r *reconcile.Reconciler, st *reconcile.State) error {
				to := f.to
				if f.previous {
					if to, err = previousCommit(st, app, name); err != nil {
						return err
					}
				}
				target, err := gitsource.ResolveCommit(repo, to)
				if err != nil {
					return invalid("rollback --to %q: no such commit, tag or branch in %s (nothing was changed)", to, repoName(src))
				}
				objs, err := renderAt(target, src.Path)
				if err != nil {
					return err
				}
				if err := g.checkHostAccess(b, objs); err != nil {
					return fmt.Errorf("manifests at commit %.12s ask for host access (nothing was changed):\n%w", target.Hash, err)
				}
				if name == "" {
					return rollbackApp(ctx, g, r, objs, target.Hash.String(), head.Hash.String(), f.allowEmpty)
				}
				return rollbackDeployment(ctx, g, r, st, app, name, objs, target.Hash.String(), head.Hash.String())
			})
		},
	}
	cmd.Flags().StringVar(&f.to, "to", "", "commit (full or abbreviated SHA), tag or branch to roll back to")
	cmd.Flags().BoolVar(&f.previous, "previous", false, "roll back to the revision before the current one")
	cmd.Flags().BoolVar(&f.allowEmpty, "allow-empty", false, "allow a whole-app rollback to a commit with no objects")
	f.register(cmd.Flags(), true)
	return cmd
}

func repoName(src gitsource.Source) string {
	if src.Repo == "" {
		return "the repository"
	}
	return gitsource.RedactURL(src.Repo)
}

// renderAt reads and validates the manifests of a commit.
func renderAt(commit *object.Commit, path string) ([]*manifest.Object, error) {
	rev, err := gitsource.ReadCommit(commit, path)
	if err != nil {
		return nil, err
	}
	objs, err := manifest.Parse(rev.Files)
	if err != nil {
		return nil, fmt.Errorf("invalid manifests at commit %.12s (nothing was changed):\n%w", rev.Commit, err)
	}
	return objs, nil
}

// previousCommit is the commit of the revision before a Deployment's current one.
func previousCommit(st *reconcile.State, app, name string) (string, error) {
	a, err := deploymentIn(st, app, name)
	if err != nil {
		return "", err
	}
	hist := reconcile.History(st, a.Key)
	var revs []int
	byRev := map[int]reconcile.Revision{}
	for _, h := range hist {
		revs = append(revs, h.Number)
		byRev[h.Number] = h
	}
	n, err := reconcile.RollbackTarget(revs, 0)
	if err != nil {
		return "", invalid("deployment %q: %v", name, err)
	}
	return byRev[n].Commit, nil
}

func rollbackDeployment(ctx context.Context, g *globals, r *reconcile.Reconciler, st *reconcile.State, app, name string, objs []*manifest.Object, target, head string) error {
	a, err := deploymentIn(st, app, name)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if d, ok := o.Obj.(*manifest.Deployment); ok && o.Key() == a.Key {
			if err := r.RollbackTo(ctx, st, a.Key, d, head, target, target); err != nil {
				return err
			}
			r.Events.Event(reconcile.Event{App: app, Object: reconcile.ObjectName(a.Key), Reason: "DeploymentRollback",
				Message: fmt.Sprintf("Rolled back deployment %q to commit %.12s", name, target)})
			fmt.Fprintf(g.stdout, "deployment.apps/%s rolled back to %.12s\n", name, target)
			return nil
		}
	}
	return invalid("deployment %q does not exist at commit %.12s (nothing was changed)", name, target)
}

func rollbackApp(ctx context.Context, g *globals, r *reconcile.Reconciler, objs []*manifest.Object, target, head string, allowEmpty bool) error {
	ov := reconcile.Override{Kind: "app-rollback", Base: head, Target: target}
	err := r.Sync(ctx, objs, reconcile.SyncOptions{Commit: target, Prune: true, AllowEmpty: allowEmpty, AppRollback: &ov})
	if err == nil {
		fmt.Fprintf(g.stdout, "app %s rolled back to %.12s\n", r.App, target)
	}
	return err
}
