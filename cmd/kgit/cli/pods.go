package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// targetPods resolves what exec, port-forward and logs take, as kubectl does: POD,
// pod/NAME, or KIND/NAME of an object that selects pods (deploy, rs, sts, ds, svc,
// job, ...), whose pods are returned best first (see byReadiness). what names the object
// for messages (pod/web-1, deployment/web).
func targetPods(ctx context.Context, cmd *cobra.Command, g *globals, b backend.Backend, arg string) ([]view, string, error) {
	kindArg, name, ok := strings.Cut(arg, "/")
	if !ok {
		kindArg, name = "pod", arg
	}
	if name == "" {
		return nil, "", invalid("expected POD or KIND/NAME, got %q", arg)
	}
	kind, err := kindOf(kindArg)
	if err != nil {
		return nil, "", err
	}
	if kind == "Pod" {
		v, err := findView(ctx, cmd, g, b, "Pod", name)
		if err != nil {
			return nil, "", err
		}
		return []view{v}, "pod/" + name, nil
	}
	owner, err := findView(ctx, cmd, g, b, kind, name)
	if err != nil {
		return nil, "", err
	}
	what := strings.ToLower(kind) + "/" + name
	sel, err := podSelector(owner)
	if err != nil {
		return nil, "", err
	}
	_, pods, err := appViews(ctx, cmd, g, b, "Pod")
	if err != nil {
		return nil, "", err
	}
	var out []view
	for _, p := range pods {
		if p.app != owner.app || p.namespace != owner.namespace {
			continue
		}
		if ok, _ := sel.Matches(p.labels); ok {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return byReadiness(out[i].pod, out[j].pod) })
	if len(out) == 0 {
		return nil, what, invalid("no pods found for %s", what)
	}
	return out, what, nil
}

// podsWith opens the backend, checks that it can do what a command needs (can, said
// as what), and resolves the command's POD or TYPE/NAME (see targetPods).
func (g *globals) podsWith(cmd *cobra.Command, arg, what string, can func(backend.Backend) bool) (backend.Backend, []view, error) {
	b, err := g.backend(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	if !can(b) {
		return nil, nil, fmt.Errorf("the %s backend cannot %s", b.Name(), what)
	}
	pods, _, err := targetPods(cmd.Context(), cmd, g, b, arg)
	return b, pods, err
}

// podSelector is the selector of an object that selects pods: spec.selector, a label
// selector, or a Service's plain map.
func podSelector(v view) (*manifest.LabelSelector, error) {
	data, err := json.Marshal(v.obj)
	if err != nil {
		return nil, err
	}
	var o struct {
		Spec struct {
			Selector json.RawMessage `json:"selector"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(data, &o); err != nil || len(o.Spec.Selector) == 0 {
		return nil, invalid("cannot attach to %s/%s: it selects no pods", strings.ToLower(v.kind), v.name)
	}
	sel := &manifest.LabelSelector{}
	if v.kind == "Service" {
		err = json.Unmarshal(o.Spec.Selector, &sel.MatchLabels)
	} else {
		err = json.Unmarshal(o.Spec.Selector, sel)
	}
	if err != nil || len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
		return nil, invalid("cannot attach to %s/%s: it selects no pods", strings.ToLower(v.kind), v.name)
	}
	return sel, nil
}

// byReadiness orders pods as kubectl picks one to attach to: active before finished or
// terminating, ready before not, running before pending, then the oldest.
func byReadiness(a, b *backend.Pod) bool {
	rank := func(p *backend.Pod) int {
		switch {
		case !p.Status.Active():
			return 3
		case p.Status.Ready:
			return 0
		case p.Status.Phase == backend.PodRunning:
			return 1
		}
		return 2
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.Name < b.Name
}

// DefaultContainerAnnotation names the container kubectl picks when none is given.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// podContainer is the container -c names, or, as kubectl picks it, the one the
// default-container annotation names, else the first (saying so on stderr when the pod
// has several).
func podContainer(p *backend.Pod, name string, stderr io.Writer) (string, error) {
	var names []string
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	if name != "" {
		for _, c := range append(p.Spec.InitContainers[:len(p.Spec.InitContainers):len(p.Spec.InitContainers)], p.Spec.Containers...) {
			if c.Name == name { // an init container may be named, as kubectl allows
				return name, nil
			}
		}
		return "", invalid("container %s is not valid for pod %s", name, p.Name)
	}
	if d := p.Annotations[DefaultContainerAnnotation]; d != "" {
		for _, n := range names {
			if n == d {
				return n, nil
			}
		}
	}
	if len(names) > 1 {
		fmt.Fprintf(stderr, "Defaulted container %q out of: %s\n", names[0], strings.Join(names, ", "))
	}
	return names[0], nil
}
