package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/reconcile"
)

func newScaleCmd(g *globals) *cobra.Command {
	f := &changeFlags{}
	replicas := -1
	cmd := &cobra.Command{
		Use:               "scale deploy/NAME --replicas N",
		Short:             "Set a Deployment's replicas by hand; it holds until git changes that Deployment's replicas",
		Args:              exactArgs(1, "deploy/NAME"),
		ValidArgsFunction: completeKindNames(g, "deploy"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if replicas < 0 {
				return invalid("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
			}
			return g.changeDeployment(cmd.Context(), f, args[0], func(ctx context.Context, s *reconcile.Syncer, live reconcile.Live, name string) error {
				if err := s.Scale(ctx, live, name, int32(replicas)); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "deployment.apps/%s scaled\n", name)
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&replicas, "replicas", -1, "the new number of replicas (required)")
	f.register(cmd.Flags(), true)
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}
