package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/cmd/kgit/cli/kubeprint"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile/controller"
)

type getFlags struct {
	selector, output, sortBy, namespace  string
	noHeaders, showLabels, allNamespaces bool
	labelColumns                         []string
	watch, watchOnly, watchEvents        bool
}

func newGetCmd(g *globals) *cobra.Command {
	f := &getFlags{}
	cmd := &cobra.Command{
		Use:   "get KIND[,KIND...]|all [NAME]",
		Short: "List objects as kubectl does (every kgit app on the backend unless narrowed)",
		Long: "List objects as kubectl does (every kgit app on the backend unless narrowed).\n\n" +
			"KIND is a kind, its plural or its short name, as kubectl spells them: " + kindList() +
			"; and any other kind the app's manifests hold (" + keptKinds() + ", custom resources, ...), shown as kubectl shows custom resources." +
			" Several kinds are separated by commas; all is kubectl's all (pods, services, daemonsets, deployments, replicasets, statefulsets, jobs, cronjobs).",
		Args: rangeArgs(1, 2, "a resource type and an optional name"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return completeNames(cmd, g, args[0], ""), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			return runGet(cmd, g, f, args[0], name)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.selector, "selector", "l", "", "label selector, e.g. app=web,tier!=db")
	fl.StringVarP(&f.output, "output", "o", "", "output format: "+outputFormats)
	fl.BoolVar(&f.noHeaders, "no-headers", false, "print the table without its header")
	fl.BoolVar(&f.showLabels, "show-labels", false, "a last column with the labels (those -l matches: kgit's own kgit.dev/ labels are left out)")
	fl.StringSliceVarP(&f.labelColumns, "label-columns", "L", nil, "a column for each of these label keys")
	fl.StringVar(&f.sortBy, "sort-by", "", "sort by a JSONPath field of the objects, e.g. .metadata.name or {.status.startTime}")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "only this namespace (default: every namespace, without a NAMESPACE column)")
	fl.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "every namespace, with a NAMESPACE column")
	fl.BoolVarP(&f.watch, "watch", "w", false, "after the list, print a row (or an object) for each change, until interrupted")
	fl.BoolVar(&f.watchOnly, "watch-only", false, "print only the changes, not the list first")
	fl.BoolVar(&f.watchEvents, "output-watch-events", false, "with --watch, an EVENT column (ADDED, MODIFIED, DELETED)")
	return cmd
}

// appStates loads the states of the apps a read-only command covers; routes (and the
// ingress controller's status) too when a Service or an Ingress is shown.
func appStates(ctx context.Context, cmd *cobra.Command, g *globals, b backend.Backend, routes bool) ([]string, []*controller.State, error) {
	app, err := g.appFilter(cmd)
	if err != nil {
		return nil, nil, err
	}
	apps := []string{app}
	if app == "" {
		if apps, err = controller.Apps(ctx, b); err != nil {
			return nil, nil, err
		}
	}
	states := make([]*controller.State, len(apps))
	for i, a := range apps {
		st, err := controller.Load(ctx, b, a)
		if err == nil && routes {
			err = st.LoadRoutes(ctx, b, a)
		}
		if err != nil {
			return nil, nil, err
		}
		states[i] = st
	}
	return apps, states, nil
}

// kindViews returns the views of a kind (as get accepts it: see kindOf; else a kind of
// the records, see customKind) in the states, and the kind it resolved.
func kindViews(apps []string, states []*controller.State, kindArg string) (string, []view, error) {
	kind, err := kindOf(kindArg)
	if err != nil {
		var ok bool
		if kind, ok = customKind(kindArg, states); !ok {
			return "", nil, err
		}
	}
	now := time.Now()
	var out []view
	for i, st := range states {
		out = append(out, views(st, apps[i], kind, now)...)
	}
	return kind, out, nil
}

// appViews loads the views of a kind across the apps a read-only command covers, and
// returns the kind it resolved.
func appViews(ctx context.Context, cmd *cobra.Command, g *globals, b backend.Backend, kindArg string) (string, []view, error) {
	k, _ := kindOf(kindArg)
	apps, states, err := appStates(ctx, cmd, g, b, k == "Service" || k == "Ingress")
	if err != nil {
		return "", nil, err
	}
	kind, vs, err := kindViews(apps, states, kindArg)
	if ns := g.cluster.namespace; ns != "" && err == nil {
		// --namespace of a command that deploys or reads one object: only that namespace's
		// objects (the Namespace objects themselves have none).
		kept := vs[:0]
		for _, v := range vs {
			if v.namespace == ns || v.namespace == "" {
				kept = append(kept, v)
			}
		}
		vs = kept
	}
	return kind, vs, err
}

// allKinds is kubectl's "all" category.
var allKinds = []string{"Pod", "Service", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob"}

// kindGroup is the objects of one kind that get shows.
type kindGroup struct {
	kind string
	vs   []view
}

// getViews loads what get shows: for each kind asked, the objects that the name, the
// selector and the namespace keep, sorted as --sort-by asks.
func getViews(cmd *cobra.Command, g *globals, f *getFlags, b backend.Backend, kindsArg, name string, sel *manifest.LabelSelector) ([]kindGroup, error) {
	kinds := strings.Split(kindsArg, ",")
	all := kindsArg == "all"
	if all {
		kinds = nil
		for _, k := range allKinds {
			if _, ok := manifest.LookupKind(k); ok {
				kinds = append(kinds, k)
			}
		}
	}
	routes := all
	for _, k := range kinds {
		if kind, _ := kindOf(k); kind == "Service" || kind == "Ingress" {
			routes = true
		}
	}
	apps, states, err := appStates(cmd.Context(), cmd, g, b, routes)
	if err != nil {
		return nil, err
	}
	var groups []kindGroup
	for _, k := range kinds {
		kind, vs, err := kindViews(apps, states, k)
		if err != nil {
			return nil, err
		}
		var keep []view
		for _, v := range vs {
			if ok, _ := sel.Matches(v.labels); ok && (name == "" || v.name == name) && (f.namespace == "" || f.allNamespaces || v.namespace == f.namespace) {
				keep = append(keep, v)
			}
		}
		if name != "" {
			if len(keep) == 0 {
				return nil, invalid("%s %q not found", strings.ToLower(kind), name)
			}
			if err := ambiguous(keep, kind, name); err != nil {
				return nil, err
			}
		}
		if f.sortBy != "" {
			if err := sortViews(keep, f.sortBy); err != nil {
				return nil, err
			}
		}
		groups = append(groups, kindGroup{kind: kind, vs: keep})
	}
	return groups, nil
}

func runGet(cmd *cobra.Command, g *globals, f *getFlags, kindsArg, name string) error {
	out, err := parseOutput(f.output)
	if err != nil {
		return err
	}
	sel, err := manifest.ParseSelector(f.selector)
	if err != nil {
		return invalid("--selector: %v", err)
	}
	watch := f.watch || f.watchOnly
	if watch && (strings.Contains(kindsArg, ",") || kindsArg == "all") {
		return invalid("you may only specify a single resource type with --watch")
	}
	ctx := cmd.Context()
	load := func() ([]kindGroup, error) { return clusterGroups(ctx, g, f, kindsArg, name) }
	if g.backendChoice() != KubernetesName {
		b, err := g.backend(ctx)
		if err != nil {
			return err
		}
		load = func() ([]kindGroup, error) { return getViews(cmd, g, f, b, kindsArg, name, sel) }
	}
	groups, err := load()
	if err != nil {
		return err
	}
	if watch {
		return watchGet(ctx, g, f, out, groups[0], load)
	}
	several := len(groups) > 1
	var vs []view
	for _, gr := range groups {
		vs = append(vs, gr.vs...)
	}
	single := name != "" && !several
	switch out.kind {
	case "json", "yaml":
		return printObjects(g.stdout, vs, single, out.kind)
	case "jsonpath":
		return printJSONPath(g.stdout, out.path, vs, single)
	case "name":
		for _, v := range vs {
			fmt.Fprintln(g.stdout, qualifiedName(v))
		}
		return nil
	}
	if len(vs) == 0 {
		if f.namespace != "" && !f.allNamespaces {
			fmt.Fprintf(g.stderr, "No resources found in %s namespace.\n", f.namespace)
		} else {
			fmt.Fprintln(g.stderr, "No resources found.")
		}
		return nil
	}
	first := true
	for _, gr := range groups {
		if len(gr.vs) == 0 {
			continue
		}
		if !first {
			fmt.Fprintln(g.stdout)
		}
		first = false
		if err := printTable(g.stdout, gr.kind, gr.vs, tableOptions(f, out, gr.vs, several), time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// tableOptions are the columns a table of vs gets from get's flags.
func tableOptions(f *getFlags, out outputFormat, vs []view, several bool) kubeprint.Options {
	opts := kubeprint.Options{Wide: out.kind == "wide", NoHeaders: f.noHeaders, Extra: labelColumns(vs, f.showLabels, f.labelColumns)}
	if f.allNamespaces {
		opts.Lead = []kubeprint.Column{namespaceColumn}
	}
	if several {
		n := nameAs(vs)
		opts.Name = &n
	}
	if out.kind == "custom-columns" {
		opts.Custom = customCells(out.columns)
	}
	return opts
}

// findView returns the one object of a kind with that name across the apps a
// read-only command covers: not found and found in several apps are errors.
func findView(ctx context.Context, cmd *cobra.Command, g *globals, b backend.Backend, kindArg, name string) (view, error) {
	kind, all, err := appViews(ctx, cmd, g, b, kindArg)
	if err != nil {
		return view{}, err
	}
	var vs []view
	for _, v := range all {
		if v.name == name {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return view{}, invalid("%s %q not found", strings.ToLower(kind), name)
	}
	if err := ambiguous(vs, kind, name); err != nil {
		return view{}, err
	}
	return vs[0], nil
}

// ambiguous fails when one name is found in several apps.
func ambiguous(vs []view, kind, name string) error {
	var apps []string
	for _, v := range vs {
		apps = append(apps, v.app)
	}
	if len(vs) > 1 {
		return invalid("%s %q exists in several apps (%s): choose one with --app", strings.ToLower(kind), name, strings.Join(apps, ", "))
	}
	return nil
}

// listOf is what -o json, yaml and jsonpath print: the one object, or a List of them.
func listOf(vs []view, single bool) any {
	if single {
		return vs[0].obj
	}
	items := make([]any, len(vs))
	for i, v := range vs {
		items[i] = v.obj
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": items}
}

func printObjects(w io.Writer, vs []view, single bool, format string) error {
	out := listOf(vs, single)
	if format == "yaml" {
		data, err := yaml.Marshal(out)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(out)
}

// printTable prints kubectl's columns of a kind, computed from the objects -o json
// prints.
func printTable(w io.Writer, kind string, vs []view, opts kubeprint.Options, now time.Time) error {
	objs := make([]kubeprint.Object, len(vs))
	for i, v := range vs {
		o, err := kubeprint.ObjectOf(v.obj)
		if err != nil {
			return err
		}
		objs[i] = o
	}
	return kubeprint.Print(w, kind, objs, opts, now)
}

// keptKinds names the well-known kinds kgit keeps as records, by their short names
// where they have one.
func keptKinds() string {
	var names []string
	for _, k := range manifest.Kinds() {
		if !k.Modelled() {
			names = append(names, kindNames(k))
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
