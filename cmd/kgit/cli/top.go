package cli

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

type topFlags struct {
	selector, namespace, sortBy         string
	allNamespaces, containers, noHeader bool
}

// newTopCmd is kubectl top: what the pods use, measured by the backend (backend.Meter).
func newTopCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Show the CPU and memory that pods use, as kubectl top does",
	}
	cmd.AddCommand(newTopPodCmd(g))
	return cmd
}

func newTopPodCmd(g *globals) *cobra.Command {
	f := &topFlags{}
	cmd := &cobra.Command{
		Use:     "pod [NAME]",
		Aliases: []string{"pods", "po"},
		Short:   "Show the CPU (millicores) and memory (MiB) of each running pod, or of each container",
		Long: "Show the CPU (millicores) and memory (MiB) of each running pod, as kubectl top pod does. The process\n" +
			"backend reads /proc (the resident memory and the CPU time over half a second of each container's\n" +
			"processes); the docker backend asks the engine for each container's stats (its working set, and its\n" +
			"CPU over the engine's last second).",
		Args:              rangeArgs(0, 1, "an optional pod name"),
		ValidArgsFunction: completeNamesOf(g, "Pod"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTopPods(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.selector, "selector", "l", "", "label selector, e.g. app=web")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "only this namespace (default: every namespace, without a NAMESPACE column)")
	fl.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "every namespace, with a NAMESPACE column")
	fl.BoolVar(&f.containers, "containers", false, "a row for each container")
	fl.BoolVar(&f.noHeader, "no-headers", false, "print the table without its header")
	fl.StringVar(&f.sortBy, "sort-by", "", "sort by cpu or memory (largest first)")
	return cmd
}

// podUsage is what one pod uses, as top prints it.
type podUsage struct {
	namespace, name string
	containers      []backend.Usage
}

func (p podUsage) total() (cpu, mem int64) {
	for _, c := range p.containers {
		cpu += c.CPUMilli
		mem += c.MemoryBytes
	}
	return cpu, mem
}

func runTopPods(cmd *cobra.Command, g *globals, f *topFlags, args []string) error {
	if f.sortBy != "" && f.sortBy != "cpu" && f.sortBy != "memory" {
		return invalid("--sort-by: %q: sort by cpu or memory", f.sortBy)
	}
	sel, err := manifest.ParseSelector(f.selector)
	if err != nil {
		return invalid("--selector: %v", err)
	}
	if g.backendChoice() == KubernetesName {
		return invalid("top on a cluster: kgit reads no metrics API yet; use kubectl top pod (it needs the cluster's metrics-server)")
	}
	ctx := cmd.Context()
	b, err := g.backend(ctx)
	if err != nil {
		return err
	}
	m, ok := backend.MeterOf(b)
	if !ok {
		return fmt.Errorf("the %s backend does not measure its pods", b.Name())
	}
	_, vs, err := appViews(ctx, cmd, g, b, "Pod")
	if err != nil {
		return err
	}
	var pods []*backend.Pod
	for _, v := range vs {
		if ok, _ := sel.Matches(v.labels); ok && (len(args) == 0 || v.name == args[0]) && (f.namespace == "" || f.allNamespaces || v.namespace == f.namespace) {
			pods = append(pods, v.pod)
		}
	}
	if len(args) == 1 && len(pods) == 0 {
		return fmt.Errorf("pods %q not found", args[0])
	}
	usage, err := m.Measure(ctx, pods)
	if err != nil {
		return err
	}
	var rows []podUsage
	for _, p := range pods {
		if u := usage[p.ID]; len(u) > 0 {
			rows = append(rows, podUsage{namespace: p.Namespace, name: p.Name, containers: u})
		}
	}
	if len(rows) == 0 {
		if len(args) == 1 {
			return fmt.Errorf("pod %q has no running container to measure", args[0])
		}
		fmt.Fprintln(g.stderr, "No resources found.")
		return nil
	}
	printTop(g.stdout, rows, f)
	return nil
}

// printTop prints kubectl top pod's table: the rows in namespace and name order (or by
// --sort-by, largest first), CPU in millicores and memory in MiB, each column ended
// by a tab as kubectl ends them.
func printTop(w io.Writer, rows []podUsage, f *topFlags) {
	sort.SliceStable(rows, func(i, j int) bool {
		ci, mi := rows[i].total()
		cj, mj := rows[j].total()
		switch f.sortBy {
		case "cpu":
			return ci > cj
		case "memory":
			return mi > mj
		}
		return rows[i].namespace+"/"+rows[i].name < rows[j].namespace+"/"+rows[j].name
	})
	tw := tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
	defer tw.Flush()
	cell := func(s string) { fmt.Fprint(tw, s, "\t") }
	if !f.noHeader {
		if f.allNamespaces {
			cell("NAMESPACE")
		}
		if f.containers {
			cell("POD")
		}
		cell("NAME")
		cell("CPU(cores)")
		cell("MEMORY(bytes)")
		fmt.Fprintln(tw)
	}
	line := func(r podUsage, name string, cpu, mem int64) {
		if f.allNamespaces {
			cell(r.namespace)
		}
		if f.containers {
			cell(r.name)
		}
		cell(name)
		cell(fmt.Sprintf("%dm", cpu))
		cell(fmt.Sprintf("%dMi", mem/(1024*1024)))
		fmt.Fprintln(tw)
	}
	for _, r := range rows {
		if f.containers {
			for _, c := range r.containers {
				line(r, c.Container, c.CPUMilli, c.MemoryBytes)
			}
			continue
		}
		cpu, mem := r.total()
		line(r, r.name, cpu, mem)
	}
}
