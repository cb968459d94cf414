package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/reconcile/controller"
)

// completePods completes the first argument of exec, logs and port-forward: pod names,
// and TYPE/NAME of the Deployments (and the other kinds that select pods) once a slash
// is typed.
func completePods(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		kindArg, _, slash := strings.Cut(toComplete, "/")
		if !slash {
			return append(completeNames(cmd, g, "Pod", ""), "deploy/", "svc/", "sts/", "pod/"), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
		return completeNames(cmd, g, kindArg, kindArg+"/"), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeKindNames completes KIND/NAME for describe, rollout, rollback and scale: the
// kinds (as kubectl spells them short) until a slash is typed, then the names of that kind.
func completeKindNames(g *globals, kinds ...string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		kindArg, _, slash := strings.Cut(toComplete, "/")
		if !slash {
			var out []cobra.Completion
			for _, k := range kinds {
				out = append(out, k+"/")
			}
			return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
		return completeNames(cmd, g, kindArg, kindArg+"/"), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNamesOf completes the first argument with the names of one kind.
func completeNamesOf(g *globals, kind string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeNames(cmd, g, kind, ""), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNames lists the names of one kind on the backend, each after prefix.
func completeNames(cmd *cobra.Command, g *globals, kindArg, prefix string) []cobra.Completion {
	b, err := g.backend(cmd.Context())
	if err != nil {
		return nil
	}
	_, vs, err := appViews(cmd.Context(), cmd, g, b, kindArg)
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, v := range vs {
		out = append(out, prefix+v.name)
	}
	return out
}

// completeApps completes --app with the apps on the backend.
func completeApps(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		b, err := g.backend(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		apps, _ := controller.Apps(cmd.Context(), b)
		return apps, cobra.ShellCompDirectiveNoFileComp
	}
}
