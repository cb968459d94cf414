package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/reconcile"
)

func newDownCmd(g *globals) *cobra.Command {
	var waitLock time.Duration
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop and remove everything of the app",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			app, err := g.appName()
			if err != nil {
				return err
			}
			b, err := g.backend(ctx)
			if err != nil {
				return err
			}
			release, err := b.Lock(ctx, app, waitLock)
			if err != nil {
				return err
			}
			defer release()
			journal := reconcile.OpenJournal(g.state())
			defer journal.Close()
			r := &reconcile.Reconciler{Backend: b, App: app, Events: reconcile.Sinks{newReporter(g.stderr), journal}}
			if err := r.Down(ctx); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "app %s removed\n", app)
			return nil
		},
	}
	cmd.Flags().DurationVar(&waitLock, "wait-lock", 0, "wait this long for a running sync of the app to finish")
	return cmd
}
