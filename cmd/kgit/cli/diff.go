package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/reconcile"
)

func newDiffCmd(g *globals) *cobra.Command {
	var prune bool
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show a unified diff of the live objects against the manifests (exit 0: none, 1: differences)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := g.backend(cmd.Context())
			if err != nil {
				return err
			}
			want, err := g.loadDesired(cmd.Context(), b)
			if err != nil {
				return err
			}
			return printDiff(cmd.Context(), g, b, want, true, prune)
		},
	}
	cmd.Flags().BoolVar(&prune, "prune", true, "show objects no longer in git as deletions")
	return cmd
}

// printDiff prints the unified diff of every changed object; with exitCode, differences
// make the command exit 1.
func printDiff(ctx context.Context, g *globals, b backend.Backend, want *desired, exitCode, prune bool) error {
	st, err := reconcile.Load(ctx, b, want.app)
	if err != nil {
		return err
	}
	diffs, err := reconcile.Diff(st, want.objects, prune)
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
