package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
	"kgit.dev/kgit/reconcile/controller"
)

// newCreateCmd is `kgit create`: only `create job NAME --from=cronjob/CJ`, since every
// other object comes from git.
func newCreateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create job NAME --from=cronjob/NAME",
		Short: "Run a CronJob's Job now, as kubectl create job --from does (on a local backend)",
	}
	cmd.AddCommand(newCreateJobCmd(g))
	return cmd
}

func newCreateJobCmd(g *globals) *cobra.Command {
	f := &struct {
		changeFlags
		from string
	}{}
	cmd := &cobra.Command{
		Use:   "job NAME --from=cronjob/NAME",
		Short: "Make a Job from a CronJob's template now; its scheduler runs it",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, cj, ok := strings.Cut(f.from, "/")
			if k, err := kindOf(kind); !ok || cj == "" || err != nil || k != "CronJob" {
				return invalid("--from=%q: expected cronjob/NAME", f.from)
			}
			app, err := g.appName()
			if err != nil {
				return err
			}
			name := args[0]
			return g.change(cmd.Context(), &f.changeFlags, app, false, func(ctx context.Context, _ *site, s *reconcile.Syncer, live reconcile.Live) error {
				local, ok := s.Target.(*controller.Local)
				if !ok {
					return invalid("create job --from works on a local backend; on a cluster, use kubectl create job --from")
				}
				key := manifest.Key{Kind: "CronJob", Namespace: g.objectNamespace(), Name: cj}
				err := local.CreateJobFrom(ctx, live.(*controller.State), key, name)
				if errors.Is(err, backend.ErrNotFound) || errors.Is(err, backend.ErrAlreadyExists) {
					return exitError{code: ExitInvalid, err: err}
				} else if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "job.batch/%s created\n", name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&f.from, "from", "", "the CronJob whose template the Job takes: cronjob/NAME (required)")
	f.register(cmd.Flags(), false)
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}
