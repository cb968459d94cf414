package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/reconcile"
)

func newDownCmd(g *globals) *cobra.Command {
	f := &changeFlags{}
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop and remove everything of the app",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := g.appName()
			if err != nil {
				return err
			}
			err = g.change(cmd.Context(), f, app, false, func(ctx context.Context, _ *site, s *reconcile.Syncer, _ reconcile.Live) error {
				if f.timeout > 0 { // after the lock: --wait-lock has its own bound
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, f.timeout)
					defer cancel()
				}
				err := s.Down(ctx)
				if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("app %s was not removed within --timeout %s (its pods go on stopping; kgit down again finishes the removal): %w", app, f.timeout, err)
				}
				return err
			})
			if err == nil {
				fmt.Fprintf(g.stderr, "app %s removed\n", app)
			}
			return err
		},
	}
	f.register(cmd.Flags(), false)
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "give up (exit 2) when the app is not removed by then (default: wait for every pod's grace period)")
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}
