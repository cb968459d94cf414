package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/reconcile"
)

func newRolloutCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Inspect rollouts of Deployments",
	}
	cmd.AddCommand(newRolloutStatusCmd(g))
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
				vs, err := appViews(ctx, cmd, g, b, "Deployment")
				if err != nil {
					return err
				}
				var found []view
				for _, v := range vs {
					if v.name == name {
						found = append(found, v)
					}
				}
				if len(found) == 0 {
					return invalid("deployment %q not found", name)
				}
				if err := ambiguous(found, "Deployment", name); err != nil {
					return err
				}
				msg, done, failed := rolloutStatus(found[0], time.Now())
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
