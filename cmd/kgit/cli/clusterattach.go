package cli

import (
	"context"
	"sort"
	"strings"

	"kgit.dev/kgit/backend/kubernetes"
	"kgit.dev/kgit/manifest"
)

// clusterPods is targetPods on a cluster: POD, pod/NAME, or KIND/NAME of an object
// that selects pods, read through the API in the context's namespace (or
// --namespace), the pods best first (see byReadiness). It also returns the object
// named (the pod itself for a pod).
func clusterPods(ctx context.Context, g *globals, arg string) (*kubernetes.Target, []view, view, error) {
	kindArg, name, ok := strings.Cut(arg, "/")
	if !ok {
		kindArg, name = "pod", arg
	}
	if name == "" {
		return nil, nil, view{}, invalid("expected POD or KIND/NAME, got %q", arg)
	}
	kind, ok := manifest.LookupKind(kindArg)
	if !ok {
		_, err := kindOf(kindArg)
		return nil, nil, view{}, err
	}
	t, err := clusterTarget(ctx, g)
	if err != nil {
		return nil, nil, view{}, err
	}
	objs, err := t.List(ctx, kind.Resource(), t.Namespace, "", "metadata.name="+name)
	if err != nil {
		return nil, nil, view{}, err
	}
	if len(objs) == 0 {
		return nil, nil, view{}, invalid("%s %q not found", kind.Plural, name)
	}
	owner := clusterView(objs[0])
	if kind.Kind == "Pod" {
		if owner.pod, err = kubernetes.PodOf(objs[0]); err != nil {
			return nil, nil, view{}, err
		}
		return t, []view{owner}, owner, nil
	}
	what := strings.ToLower(kind.Kind) + "/" + name
	sel, err := podSelector(owner)
	if err != nil {
		return nil, nil, view{}, err
	}
	all, err := t.List(ctx, "pods", t.Namespace, "", "")
	if err != nil {
		return nil, nil, view{}, err
	}
	var pods []view
	for _, o := range all {
		v := clusterView(o)
		if ok, _ := sel.Matches(v.labels); !ok {
			continue
		}
		if v.pod, err = kubernetes.PodOf(o); err != nil {
			return nil, nil, view{}, err
		}
		pods = append(pods, v)
	}
	if len(pods) == 0 {
		return nil, nil, view{}, invalid("no pods found for %s", what)
	}
	sort.SliceStable(pods, func(i, j int) bool { return byReadiness(pods[i].pod, pods[j].pod) })
	return t, pods, owner, nil
}
