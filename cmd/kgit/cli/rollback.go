package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend/kubernetes"
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
		Args:              rangeArgs(0, 1, "an optional deploy/NAME"),
		ValidArgsFunction: completeKindNames(g, "deploy"),
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
			repo, err := g.repository(cmd.Context())
			if err != nil {
				return err
			}
			head, err := repo.Resolve("")
			if err != nil {
				return err
			}
			return g.change(cmd.Context(), &f.changeFlags, app, true, func(ctx context.Context, st *site, s *reconcile.Syncer, live reconcile.Live) error {
				to := f.to
				if f.previous {
					if to, err = s.PreviousCommit(live, name); err != nil {
						return err
					}
				}
				target, err := repo.Resolve(to)
				if err != nil {
					return invalid("rollback --to %q: no such commit, tag or branch in %s (nothing was changed)", to, repo.Name())
				}
				r, err := g.render(ctx, repo, to, target, st, nil)
				if err != nil {
					return err
				}
				objs := r.objs
				if st.backend == nil {
					objs = kubernetes.Staged(objs)
				}
				if name == "" {
					if err := s.RollbackApp(ctx, objs, target.Hash, head.Hash, f.allowEmpty); err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "app %s rolled back to %.12s\n", app, target.Hash)
					return nil
				}
				if err := s.RollbackDeployment(ctx, live, name, objs, target.Hash, head.Hash); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "deployment.apps/%s rolled back to %.12s\n", name, target.Hash)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&f.to, "to", "", "commit (full or abbreviated SHA), tag or branch to roll back to")
	cmd.Flags().BoolVar(&f.previous, "previous", false, "roll back to the revision before the current one")
	cmd.Flags().BoolVar(&f.allowEmpty, "allow-empty", false, "allow a whole-app rollback to a commit with no objects")
	f.register(cmd.Flags(), true)
	g.trust.register(cmd.Flags())
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}
