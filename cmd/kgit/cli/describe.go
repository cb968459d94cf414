package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/cmd/kgit/cli/kubeprint"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

func newDescribeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "describe KIND/NAME",
		Short:             "Show one object in detail, with its events",
		Args:              exactArgs(1, "KIND/NAME, e.g. deploy/web"),
		ValidArgsFunction: completeKindNames(g, "deploy", "svc", "pod", "sts", "ds", "rs", "job", "cm", "secret"),
		RunE: func(cmd *cobra.Command, args []string) error {
			kindArg, name, ok := strings.Cut(args[0], "/")
			if !ok || name == "" {
				return invalid("describe: expected KIND/NAME, e.g. deploy/web, got %q", args[0])
			}
			if g.backendChoice() == KubernetesName {
				return describeOnCluster(cmd.Context(), g, kindArg, name)
			}
			b, err := g.backend(cmd.Context())
			if err != nil {
				return err
			}
			v, err := findView(cmd.Context(), cmd, g, b, kindArg, name)
			if err != nil {
				return err
			}
			events, err := reconcile.OpenJournal(g.state()).Events(v.app)
			if err != nil {
				return err
			}
			return describe(g.stdout, v, events, time.Now())
		},
	}
	g.cluster.registerReadNamespace(cmd.Flags())
	return cmd
}

// describe prints what kubectl prints of every object, the kind's own sections
// (kubeprint), and the object's events.
func describe(w io.Writer, v view, events []reconcile.Event, now time.Time) error {
	field := func(k, val string) { fmt.Fprintf(w, "%-24s%s\n", k+":", val) }
	field("Name", v.name)
	field("Namespace", v.namespace)
	field("App", v.app)
	field("CreationTimestamp", v.created.UTC().Format(time.RFC1123Z))
	field("Labels", orNone(manifest.LabelString(v.labels)))
	field("Annotations", orNone(manifest.LabelString(v.annotations)))
	o, err := kubeprint.ObjectOf(v.obj)
	if err != nil {
		return err
	}
	var related []kubeprint.Object
	for _, r := range v.related {
		ro, err := kubeprint.ObjectOf(r)
		if err != nil {
			return err
		}
		related = append(related, ro)
	}
	kubeprint.Describe(w, v.kind, o, related, now)
	fmt.Fprintln(w, "Events:")
	shown := 0
	for _, e := range events {
		if !aboutObject(e, v) {
			continue
		}
		if shown == 0 {
			fmt.Fprintf(w, "  %-20s %-8s %s\n", "Reason", "Age", "Message")
		}
		shown++
		fmt.Fprintf(w, "  %-20s %-8s %s\n", e.Reason, humanDuration(now.Sub(e.Time)), e.Message)
	}
	if shown == 0 {
		fmt.Fprintln(w, "  <none>")
	}
	return nil
}

// aboutObject reports whether an event concerns the object (or, for a pod, names it).
func aboutObject(e reconcile.Event, v view) bool {
	k := manifest.Key{Kind: v.kind, Namespace: v.namespace, Name: v.name}
	return e.Object == reconcile.ObjectName(k) || (v.kind == "Pod" && strings.Contains(e.Message, v.name))
}
