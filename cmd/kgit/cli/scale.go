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
		Use:   "scale deploy/NAME --replicas N",
		Short: "Set a Deployment's replicas by hand; it holds until git changes that Deployment's replicas",
		Args:  exactArgs(1, "deploy/NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if replicas < 0 {
				return invalid("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
			}
			return g.changeDeployment(cmd.Context(), f, args[0], func(ctx context.Context, r *reconcile.Reconciler, st *reconcile.State, a *reconcile.Applied) error {
				if err := r.Scale(ctx, st, a.Key, int32(replicas)); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "deployment.apps/%s scaled\n", a.Key.Name)
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&replicas, "replicas", -1, "the new number of replicas (required)")
	f.register(cmd.Flags(), true)
	return cmd
}

// deploymentIn finds a Deployment of an app by name.
func deploymentIn(st *reconcile.State, app, name string) (*reconcile.Applied, error) {
	var found []*reconcile.Applied
	for k, a := range st.Applied {
		if k.Kind == "Deployment" && k.Name == name {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return nil, invalid("deployment %q not found in app %s", name, app)
	case 1:
		return found[0], nil
	}
	return nil, invalid("deployment %q exists in several namespaces of app %s", name, app)
}
