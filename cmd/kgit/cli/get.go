package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

type getFlags struct {
	selector string
	output   string
}

func newGetCmd(g *globals) *cobra.Command {
	f := &getFlags{}
	cmd := &cobra.Command{
		Use:   "get pods|replicasets|deployments|configmaps|secrets [NAME]",
		Short: "List objects as kubectl does (every kgit app on the backend unless narrowed)",
		Args:  rangeArgs(1, 2, "a resource type and an optional name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := kindOf(args[0])
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			return runGet(cmd, g, f, kind, name)
		},
	}
	cmd.Flags().StringVarP(&f.selector, "selector", "l", "", "label selector, e.g. app=web,tier!=db")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "output format: wide, json or yaml")
	return cmd
}

// appViews loads the views of a kind across the apps a read-only command covers.
func appViews(ctx context.Context, cmd *cobra.Command, g *globals, b backend.Backend, kind string) ([]view, error) {
	app, err := g.appFilter(cmd)
	if err != nil {
		return nil, err
	}
	apps := []string{app}
	if app == "" {
		if apps, err = reconcile.Apps(ctx, b); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	var out []view
	for _, a := range apps {
		st, err := reconcile.Load(ctx, b, a)
		if err == nil && kind == "Service" {
			err = st.LoadRoutes(ctx, b, a)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, views(st, a, kind, now)...)
	}
	return out, nil
}

func runGet(cmd *cobra.Command, g *globals, f *getFlags, kind, name string) error {
	switch f.output {
	case "", "wide", "json", "yaml":
	default:
		return invalid("--output %q: supported: wide, json, yaml", f.output)
	}
	sel, err := manifest.ParseSelector(f.selector)
	if err != nil {
		return invalid("--selector: %v", err)
	}
	ctx := cmd.Context()
	b, err := g.backend(ctx)
	if err != nil {
		return err
	}
	all, err := appViews(ctx, cmd, g, b, kind)
	if err != nil {
		return err
	}
	var vs []view
	for _, v := range all {
		if ok, _ := sel.Matches(v.labels); ok && (name == "" || v.name == name) {
			vs = append(vs, v)
		}
	}
	if name != "" {
		if len(vs) == 0 {
			return invalid("%s %q not found", strings.ToLower(kind), name)
		}
		if err := ambiguous(vs, kind, name); err != nil {
			return err
		}
	}
	switch f.output {
	case "json", "yaml":
		return printObjects(g.stdout, vs, name != "", f.output)
	}
	if len(vs) == 0 {
		fmt.Fprintln(g.stderr, "No resources found.")
		return nil
	}
	return printTable(g.stdout, kind, vs, f.output == "wide", time.Now())
}

// findView returns the one object of a kind with that name across the apps a
// read-only command covers: not found and found in several apps are errors.
func findView(ctx context.Context, cmd *cobra.Command, g *globals, b backend.Backend, kind, name string) (view, error) {
	all, err := appViews(ctx, cmd, g, b, kind)
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

func printObjects(w io.Writer, vs []view, single bool, format string) error {
	var out any
	if single {
		out = vs[0].obj
	} else {
		items := make([]any, len(vs))
		for i, v := range vs {
			items[i] = v.obj
		}
		out = map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": items}
	}
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

// printTable prints kubectl's columns through a tabwriter set as kubectl's.
func printTable(w io.Writer, kind string, vs []view, wide bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	switch kind {
	case "Pod":
		h := []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}
		if wide {
			h = append(h, "IP", "NODE", "APP")
		}
		row(h...)
		for _, v := range vs {
			p := v.pod
			ready, restarts := 0, int32(0)
			var lastExit time.Time
			for _, c := range p.Status.Containers {
				if c.State == backend.StateRunning && p.Status.Ready {
					ready++
				}
				restarts += c.RestartCount
				if t := c.LastTermination; t != nil && t.FinishedAt.After(lastExit) {
					lastExit = t.FinishedAt
				}
			}
			r := fmt.Sprint(restarts)
			if restarts > 0 && !lastExit.IsZero() {
				r += " (" + humanDuration(now.Sub(lastExit)) + " ago)"
			}
			cells := []string{v.name, fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers)), podStatusText(p), r, humanDuration(now.Sub(v.created))}
			if wide {
				cells = append(cells, orNone(p.Status.PodIP), "localhost", v.app)
			}
			row(cells...)
		}
	case "ReplicaSet":
		h := []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}
		if wide {
			h = append(h, "CONTAINERS", "IMAGES", "SELECTOR")
		}
		row(h...)
		for _, v := range vs {
			c := v.rs.Counts(now)
			cells := []string{v.name, fmt.Sprint(v.rs.Replicas()), fmt.Sprint(c.Replicas), fmt.Sprint(c.Ready), humanDuration(now.Sub(v.created))}
			if wide {
				cells = append(cells, containersImages(&v.rs.RS.Spec.Template.Spec)...)
				cells = append(cells, v.rs.RS.Spec.Selector.String())
			}
			row(cells...)
		}
	case "ConfigMap":
		row("NAME", "DATA", "AGE")
		for _, v := range vs {
			row(v.name, fmt.Sprint(v.data), humanDuration(now.Sub(v.created)))
		}
	case "Secret":
		row("NAME", "TYPE", "DATA", "AGE")
		for _, v := range vs {
			t := "Opaque"
			if s, ok := v.obj.(*manifest.Secret); ok && s.Type != "" {
				t = s.Type
			}
			row(v.name, t, fmt.Sprint(v.data), humanDuration(now.Sub(v.created)))
		}
	case "DaemonSet":
		h := []string{"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}
		if wide {
			h = append(h, "CONTAINERS", "IMAGES")
		}
		row(h...)
		for _, v := range vs {
			s := v.dstatus
			cells := []string{v.name, "1", fmt.Sprint(s.Replicas), fmt.Sprint(s.Ready), fmt.Sprint(s.Updated), fmt.Sprint(s.Available), humanDuration(now.Sub(v.created))}
			if wide {
				cells = append(cells, containersImages(&v.daemon.Spec.Template.Spec)...)
			}
			row(cells...)
		}
	case "StatefulSet":
		h := []string{"NAME", "READY", "AGE"}
		if wide {
			h = append(h, "CONTAINERS", "IMAGES")
		}
		row(h...)
		for _, v := range vs {
			cells := []string{v.name, fmt.Sprintf("%d/%d", v.counts.Ready, *v.stateful.Spec.Replicas), humanDuration(now.Sub(v.created))}
			if wide {
				cells = append(cells, containersImages(&v.stateful.Spec.Template.Spec)...)
			}
			row(cells...)
		}
	case "Service":
		h := []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}
		if wide {
			h = append(h, "SELECTOR")
		}
		row(h...)
		for _, v := range vs {
			s := v.service
			var ports []string
			for _, p := range s.Ports {
				port := fmt.Sprint(p.Port)
				if p.NodePort != 0 {
					port += fmt.Sprintf(":%d", p.NodePort)
				}
				ports = append(ports, port+"/"+p.Protocol)
			}
			cells := []string{v.name, s.Type, orNone(s.ClusterIP), "<none>", orNone(strings.Join(ports, ",")), humanDuration(now.Sub(v.created))}
			if wide {
				cells = append(cells, orNone((&manifest.LabelSelector{MatchLabels: s.Selector}).String()))
			}
			row(cells...)
		}
	case "Deployment":
		// OVERRIDE is kgit's: shown when a Deployment is held by a rollback or a scale.
		overridden := wide
		for _, v := range vs {
			overridden = overridden || reconcile.OverrideOf(v.deploy.Annotations).Kind != ""
		}
		h := []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}
		if wide {
			h = append(h, "CONTAINERS", "IMAGES", "SELECTOR")
		}
		if overridden {
			h = append(h, "OVERRIDE")
		}
		row(h...)
		for _, v := range vs {
			s := v.dstatus
			cells := []string{v.name, fmt.Sprintf("%d/%d", s.Ready, *v.deploy.Spec.Replicas), fmt.Sprint(s.Updated), fmt.Sprint(s.Available), humanDuration(now.Sub(v.created))}
			if wide {
				cells = append(cells, containersImages(&v.deploy.Spec.Template.Spec)...)
				cells = append(cells, v.deploy.Spec.Selector.String())
			}
			if overridden {
				cells = append(cells, orNone(reconcile.OverrideOf(v.deploy.Annotations).String()))
			}
			row(cells...)
		}
	}
	return tw.Flush()
}

func containersImages(s *manifest.PodSpec) []string {
	var names, images []string
	for _, c := range s.Containers {
		names = append(names, c.Name)
		images = append(images, c.Image)
	}
	return []string{strings.Join(names, ","), strings.Join(images, ",")}
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
