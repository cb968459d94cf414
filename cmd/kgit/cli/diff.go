package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/reconcile"
)

func newDiffCmd(g *globals) *cobra.Command {
	var prune bool
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show a unified diff of the live objects against the manifests (exit 0: none, 1: differences)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.site(cmd.Context())
			if err != nil {
				return err
			}
			want, err := g.loadDesired(cmd.Context(), st)
			if err != nil {
				return err
			}
			return printDiff(cmd.Context(), g, st, want, true, prune)
		},
	}
	cmd.Flags().BoolVar(&prune, "prune", true, "show objects no longer in git as deletions")
	g.trust.register(cmd.Flags())
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}

// printDiff prints the unified diff of every changed object; with exitCode, differences
// make the command exit 1.
func printDiff(ctx context.Context, g *globals, st *site, want *desired, exitCode, prune bool) error {
	t, err := st.target(ctx, want.app, nil, nil)
	if err != nil {
		return err
	}
	live, err := t.Load(ctx)
	if err != nil {
		return err
	}
	diffs, err := reconcile.DiffOn(ctx, t, live, want.objects, want.rev.Commit, prune)
	if err != nil {
		return err
	}
	for _, d := range diffs {
		fmt.Fprint(g.stdout, d.Unified)
	}
	if len(diffs) > 0 && exitCode {
		return exitError{code: ExitDifferences}
	}
	return nil
}
