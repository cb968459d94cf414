package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/kubernetes"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// clusterGroups is get on a cluster: each kind listed through the API as kubectl lists
// it (in -n NAMESPACE, else the context's namespace; every namespace with -A; -l passed
// to the server),
// printed by the same kubeprint printers as the local backends' objects.
func clusterGroups(ctx context.Context, g *globals, f *getFlags, kindsArg, name string) ([]kindGroup, error) {
	t, err := clusterTarget(ctx, g)
	if err != nil {
		return nil, err
	}
	kinds := strings.Split(kindsArg, ",")
	if kindsArg == "all" {
		kinds = allKinds
	}
	ns := f.namespace // as kubectl: the context's namespace unless -n or -A
	switch {
	case f.allNamespaces:
		ns = ""
	case ns == "":
		ns = t.Namespace
	}
	var groups []kindGroup
	for _, k := range kinds {
		kind, ok := manifest.LookupKind(k)
		resource := k
		if ok {
			resource = kind.Resource()
		}
		objs, err := t.List(ctx, resource, ns, f.selector, "")
		if err != nil {
			return nil, err
		}
		gr := kindGroup{kind: k}
		if ok {
			gr.kind = kind.Kind
		}
		for _, o := range objs {
			v := clusterView(o)
			if name != "" && v.name != name {
				continue
			}
			if gr.kind == k && v.kind != "" {
				gr.kind = v.kind
			}
			gr.vs = append(gr.vs, v)
		}
		if name != "" && len(gr.vs) == 0 {
			return nil, invalid("%s %q not found", strings.ToLower(gr.kind), name)
		}
		if f.sortBy != "" {
			if err := sortViews(gr.vs, f.sortBy); err != nil {
				return nil, err
			}
		}
		groups = append(groups, gr)
	}
	return groups, nil
}

// clusterView is an object the API server returned, as get shows it.
func clusterView(o map[string]any) view {
	md, _ := o["metadata"].(map[string]any)
	strs := func(v any) map[string]string {
		out := map[string]string{}
		if m, ok := v.(map[string]any); ok {
			for k, x := range m {
				out[k], _ = x.(string)
			}
		}
		return out
	}
	created, _ := time.Parse(time.RFC3339, str(md, "creationTimestamp"))
	labels := strs(md["labels"])
	return view{kind: str(o, "kind"), app: labels[backend.LabelApp], name: str(md, "name"), namespace: str(md, "namespace"),
		labels: labels, annotations: strs(md["annotations"]), created: created, obj: o}
}

// describeOnCluster is describe on a cluster: the object as the API returns it, printed
// by kubeprint, with the cluster's events about it.
func describeOnCluster(ctx context.Context, g *globals, kindArg, name string) error {
	f := &getFlags{namespace: g.cluster.namespace}
	groups, err := clusterGroups(ctx, g, f, kindArg, name)
	if err != nil {
		return err
	}
	v := groups[0].vs[0]
	t, err := clusterTarget(ctx, g)
	if err != nil {
		return err
	}
	evs, err := t.Events(ctx, v.namespace, v.kind, v.name)
	if err != nil {
		return err
	}
	var events []reconcile.Event
	for _, e := range evs {
		when, _ := time.Parse(time.RFC3339, str(e, "lastTimestamp"))
		if when.IsZero() {
			when, _ = time.Parse(time.RFC3339Nano, str(e, "eventTime"))
		}
		k := manifest.Key{Kind: v.kind, Namespace: v.namespace, Name: v.name}
		events = append(events, reconcile.Event{Time: when, Object: reconcile.ObjectName(k), Reason: str(e, "reason"), Message: str(e, "message")})
	}
	return describe(g.stdout, v, events, time.Now())
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// clusterTarget opens the cluster for reading.
func clusterTarget(ctx context.Context, g *globals) (*kubernetes.Target, error) {
	return kubernetes.New(ctx, kubernetes.Config{Kubeconfig: g.cluster.kubeconfig, Context: g.cluster.context, Namespace: g.cluster.namespace})
}

// clusterRolloutStatus is rollout status on a cluster: kubectl's message from the
// Deployment's status as the API returns it.
func clusterRolloutStatus(ctx context.Context, g *globals, name string) (string, bool, bool, error) {
	groups, err := clusterGroups(ctx, g, &getFlags{namespace: g.cluster.namespace}, "deployments", name)
	if err != nil {
		return "", false, false, err
	}
	o, _ := groups[0].vs[0].obj.(map[string]any)
	num := func(m map[string]any, k string) int {
		f, _ := m[k].(float64)
		n, _ := m[k].(int64)
		return int(f) + int(n)
	}
	spec, _ := o["spec"].(map[string]any)
	status, _ := o["status"].(map[string]any)
	md, _ := o["metadata"].(map[string]any)
	if num(status, "observedGeneration") < num(md, "generation") {
		return "Waiting for deployment spec update to be observed...\n", false, false, nil
	}
	p := reconcile.Progress{Replicas: num(status, "replicas"), Updated: num(status, "updatedReplicas"), Ready: num(status, "readyReplicas"), Available: num(status, "availableReplicas")}
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		if cm, _ := c.(map[string]any); str(cm, "type") == "Progressing" {
			p.Progressing = &reconcile.Condition{Type: "Progressing", Status: str(cm, "status"), Reason: str(cm, "reason"), Message: str(cm, "message")}
		}
	}
	replicas := 1
	if _, ok := spec["replicas"]; ok {
		replicas = num(spec, "replicas")
	}
	msg, done, failed := reconcile.RolloutStatus(name, replicas, p)
	return msg, done, failed, nil
}

// clusterEvents is events on a cluster: the events of the namespace, oldest first.
func clusterEvents(ctx context.Context, g *globals) error {
	t, err := clusterTarget(ctx, g)
	if err != nil {
		return err
	}
	evs, err := t.List(ctx, "events", t.Namespace, "", "")
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		fmt.Fprintln(g.stderr, "No events found.")
		return nil
	}
	type row struct {
		when                 time.Time
		reason, obj, message string
	}
	var rows []row
	for _, e := range evs {
		when, _ := time.Parse(time.RFC3339, str(e, "lastTimestamp"))
		if when.IsZero() {
			when, _ = time.Parse(time.RFC3339Nano, str(e, "eventTime"))
		}
		inv, _ := e["involvedObject"].(map[string]any)
		rows = append(rows, row{when, str(e, "reason"), strings.ToLower(str(inv, "kind")) + "/" + str(inv, "name"), str(e, "message")})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].when.Before(rows[j].when) })
	tw := tabwriter.NewWriter(g.stdout, 6, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "LAST SEEN\tREASON\tOBJECT\tMESSAGE")
	now := time.Now()
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", humanDuration(now.Sub(r.when)), r.reason, r.obj, r.message)
	}
	return tw.Flush()
}
