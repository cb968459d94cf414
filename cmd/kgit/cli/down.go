package cli

import (
	"context"
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
				return s.Down(ctx)
			})
			if err == nil {
				fmt.Fprintf(g.stderr, "app %s removed\n", app)
			}
			return err
		},
	}
	f.register(cmd.Flags(), false)
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}
