package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"

	"kgit.dev/kgit/reconcile"
)

func newRolloutCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Watch, list and undo the rollouts of Deployments",
	}
	cmd.AddCommand(newRolloutStatusCmd(g), newRolloutHistoryCmd(g), newRolloutUndoCmd(g))
	return cmd
}

// deployArg parses deploy/NAME (or deployment/NAME, deployments/NAME).
func deployArg(arg string) (string, error) {
	kindArg, name, ok := strings.Cut(arg, "/")
	if !ok || name == "" {
		return "", invalid("expected deploy/NAME, got %q", arg)
	}
	if kind, err := kindOf(kindArg); err != nil || kind != "Deployment" {
		return "", invalid("%q: only Deployments have rollouts", arg)
	}
	return name, nil
}

func newRolloutStatusCmd(g *globals) *cobra.Command {
	var watch bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status deploy/NAME",
		Short: "Wait for a Deployment's rollout and print kubectl's messages (exit 0: complete, 4: deadline exceeded)",
		Args:  exactArgs(1, "deploy/NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := deployArg(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			b, err := g.backend(ctx)
			if err != nil {
				return err
			}
			var deadline <-chan time.Time
			if timeout > 0 {
				deadline = time.After(timeout)
			}
			last := ""
			for {
				v, err := findView(ctx, cmd, g, b, "Deployment", name)
				if err != nil {
					return err
				}
				msg, done, failed := rolloutStatus(v, time.Now())
				if failed {
					return exitError{code: ExitRollout, err: fmt.Errorf("%s", msg)}
				}
				if msg != last {
					fmt.Fprint(g.stdout, msg)
					last = msg
				}
				if done || !watch {
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-deadline:
					return fmt.Errorf("timed out waiting for the condition")
				case <-time.After(200 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "keep watching until the rollout ends")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: never)")
	return cmd
}

// rolloutStatus computes kubectl's message from the live pods and the progress kgit
// recorded; the deadline is judged now, so a rollout nobody is syncing still fails.
func rolloutStatus(v view, now time.Time) (string, bool, bool) {
	d, s := v.deploy, v.dstatus
	cur := reconcile.Progress{Replicas: s.Replicas, Updated: s.Updated, Ready: s.Ready, Available: s.Available}
	newRS := ""
	if s.NewRS != nil {
		newRS = s.NewRS.RS.Name
	}
	cur.Progressing = reconcile.SyncRolloutStatus(d, v.progress, cur, newRS, now)
	return reconcile.RolloutStatus(d.Name, int(*d.Spec.Replicas), cur)
}

type historyFlags struct {
	revision int
	output   string
}

// revisionLine is one revision as history prints it, with what git says of its commit.
type revisionLine struct {
	reconcile.Revision
	Subject string `json:"subject"`
	Author  string `json:"author"`
}

func newRolloutHistoryCmd(g *globals) *cobra.Command {
	f := &historyFlags{}
	cmd := &cobra.Command{
		Use:   "history deploy/NAME",
		Short: "List a Deployment's revisions: number, commit, subject, author, when applied",
		Args:  exactArgs(1, "deploy/NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output != "" && f.output != "json" {
				return invalid("--output %q: supported: json", f.output)
			}
			name, err := deployArg(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			b, err := g.backend(ctx)
			if err != nil {
				return err
			}
			v, err := findView(ctx, cmd, g, b, "Deployment", name)
			if err != nil {
				return err
			}
			st, err := reconcile.Load(ctx, b, v.app)
			if err != nil {
				return err
			}
			lines := g.describeCommits(ctx, reconcile.History(st, manifest.Key{Kind: "Deployment", Namespace: v.namespace, Name: name}))
			return printHistory(g, name, lines, f)
		},
	}
	cmd.Flags().IntVar(&f.revision, "revision", 0, "show the template of this revision")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "output format: json")
	return cmd
}

// describeCommits adds each revision's commit subject and author from git; on a
// machine without the repository they stay empty.
func (g *globals) describeCommits(ctx context.Context, revs []reconcile.Revision) []revisionLine {
	out := make([]revisionLine, len(revs))
	var repo *git.Repository
	if src, err := g.source(); err == nil {
		repo, _ = gitsource.Open(ctx, src)
	}
	for i, r := range revs {
		out[i] = revisionLine{Revision: r}
		if repo == nil {
			continue
		}
		if c, err := repo.CommitObject(plumbing.NewHash(r.Commit)); err == nil {
			out[i].Subject, _, _ = strings.Cut(strings.TrimSpace(c.Message), "\n")
			out[i].Author = c.Author.Name
		}
	}
	return out
}

func printHistory(g *globals, name string, lines []revisionLine, f *historyFlags) error {
	if f.revision != 0 {
		for _, l := range lines {
			if l.Number == f.revision {
				if f.output == "json" {
					return printJSON(g.stdout, l)
				}
				fmt.Fprintf(g.stdout, "deployment.apps/%s with revision #%d (commit %.12s)\n", name, l.Number, l.Commit)
				data, err := yaml.Marshal(l.Template)
				if err != nil {
					return err
				}
				_, err = g.stdout.Write(data)
				return err
			}
		}
		return invalid("unable to find the specified revision %d of deployment %q", f.revision, name)
	}
	if f.output == "json" {
		return printJSON(g.stdout, lines)
	}
	if len(lines) == 0 {
		fmt.Fprintln(g.stdout, "No rollout history found.")
		return nil
	}
	fmt.Fprintf(g.stdout, "deployment.apps/%s\n", name)
	tw := tabwriter.NewWriter(g.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "REVISION\tCOMMIT\tSUBJECT\tAUTHOR\tAPPLIED")
	now := time.Now()
	for _, l := range lines {
		cur := ""
		if l.Current {
			cur = " (current)"
		}
		fmt.Fprintf(tw, "%d\t%.12s\t%s\t%s\t%s ago%s\n", l.Number, l.Commit, orNone(l.Subject), orNone(l.Author), humanDuration(now.Sub(l.Applied)), cur)
	}
	return tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newRolloutUndoCmd(g *globals) *cobra.Command {
	f := &changeFlags{}
	var toRevision int
	cmd := &cobra.Command{
		Use:   "undo deploy/NAME",
		Short: "Roll a Deployment back to an earlier revision's template (the previous one by default)",
		Args:  exactArgs(1, "deploy/NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.changeDeployment(cmd.Context(), f, args[0], func(ctx context.Context, r *reconcile.Reconciler, st *reconcile.State, a *reconcile.Applied) error {
				name := a.Key.Name
				hist := reconcile.History(st, a.Key)
				var revs []int
				for _, h := range hist {
					revs = append(revs, h.Number)
				}
				n, err := reconcile.RollbackTarget(revs, toRevision)
				if err != nil {
					return invalid("deployment %q: %v (nothing was changed)", name, err)
				}
				for _, h := range hist {
					if h.Number != n {
						continue
					}
					if h.Current {
						fmt.Fprintf(g.stdout, "deployment.apps/%s skipped rollback (current template already matches revision %d)\n", name, n)
						return nil
					}
					d := *a.Object.(*manifest.Deployment)
					d.Spec.Template = h.Template
					if err := r.RollbackTo(ctx, st, a.Key, &d, a.Commit, h.Commit, a.Commit); err != nil {
						return err
					}
					r.Events.Event(reconcile.Event{App: r.App, Object: reconcile.ObjectName(a.Key), Reason: "DeploymentRollback",
						Message: fmt.Sprintf("Rolled back deployment %q to revision %d", name, n)})
					fmt.Fprintf(g.stdout, "deployment.apps/%s rolled back\n", name)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&toRevision, "to-revision", 0, "the revision to roll back to (0: the previous one)")
	f.register(cmd.Flags(), true)
	return cmd
}
