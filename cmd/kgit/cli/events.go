package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/reconcile"
)

func newEventsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "events",
		Short: "List the events kgit journalled (from this machine's state directory)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.backendChoice() == KubernetesName {
				return clusterEvents(cmd.Context(), g)
			}
			app, err := g.appFilter(cmd)
			if err != nil {
				return err
			}
			events, err := reconcile.OpenJournal(g.state()).Events(app)
			if err != nil {
				return err
			}
			if len(events) == 0 {
				fmt.Fprintln(g.stderr, "No events found.")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 6, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "LAST SEEN\tAPP\tREASON\tOBJECT\tMESSAGE")
			now := time.Now()
			for _, e := range events {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", humanDuration(now.Sub(e.Time)), e.App, e.Reason, e.Object, e.Message)
			}
			return tw.Flush()
		},
	}
}
