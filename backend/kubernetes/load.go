package kubernetes

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// Live is what the cluster holds of an app: the members of its ApplySet, as kgit
// applied them (reconcile.Applied) and as the API server returns them.
type Live struct {
	applied map[manifest.Key]*reconcile.Applied
	objs    map[manifest.Key]*unstructured.Unstructured
	inv     inventory

	mu sync.Mutex
	rs map[string][]*unstructured.Unstructured // ReplicaSets by namespace, read on demand
}

// Applied implements reconcile.Live.
func (l *Live) Applied() map[manifest.Key]*reconcile.Applied { return l.applied }

// Running implements reconcile.Live: any member of the app's ApplySet exists.
func (l *Live) Running() bool { return len(l.objs) > 0 }

// Objects are the app's live objects as the API server returned them, in a stable
// order (kind, namespace, name).
func (l *Live) Objects() []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(l.objs))
	for _, u := range l.objs {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return reconcile.KeyLess(keyOf(out[i]), keyOf(out[j])) })
	return out
}

// Load implements reconcile.Target: it lists the members of the app's ApplySet, of
// each group-kind and namespace its parent Secret names, with one request each.
func (t *Target) Load(ctx context.Context) (reconcile.Live, error) {
	return t.load(ctx)
}

func (t *Target) load(ctx context.Context) (*Live, error) {
	inv, err := t.readInventory(ctx)
	if err != nil {
		return nil, err
	}
	l := &Live{applied: map[manifest.Key]*reconcile.Applied{}, objs: map[manifest.Key]*unstructured.Unstructured{}, inv: inv}
	sel := metav1.ListOptions{LabelSelector: LabelPartOf + "=" + t.ApplySetID()}
	for _, s := range inv.groupKinds {
		m, err := t.mapper.RESTMapping(parseGK(s))
		if meta.IsNoMatchError(err) {
			continue // a CRD that is gone takes its objects with it
		}
		if err != nil {
			return nil, t.wrap(err)
		}
		nss := inv.namespaces
		if m.Scope.Name() == meta.RESTScopeNameRoot {
			nss = []string{""}
		}
		for _, ns := range nss {
			list, err := t.client(m, ns).List(ctx, sel)
			if err != nil {
				return nil, t.wrap(err)
			}
			for i := range list.Items {
				u := &list.Items[i]
				k := keyOf(u)
				l.objs[k] = u
				if a := appliedOf(u); a != nil {
					l.applied[k] = a
				}
			}
		}
	}
	return l, nil
}

// appliedOf reads back what kgit applied of a live object: the fields its field
// manager owns, without what the target adds itself, decoded into kgit's type and
// defaulted as the manifests are, so that an unchanged object has the same Data.
func appliedOf(u *unstructured.Unstructured) *reconcile.Applied {
	doc, ok := owned(u)
	if !ok {
		doc = map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind()}
	}
	md, _ := doc["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		doc["metadata"] = md
	}
	md["name"] = u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		md["namespace"] = ns
	}
	stripOwn(doc)
	obj := manifest.New(u.GetKind())
	if obj == nil {
		return nil // a kind kgit does not model
	}
	data, err := json.Marshal(doc)
	if err != nil || json.Unmarshal(data, obj) != nil {
		return nil
	}
	manifest.Default(&manifest.Object{Obj: obj})
	if data, err = json.Marshal(obj); err != nil {
		return nil
	}
	return &reconcile.Applied{
		Key:     keyOf(u),
		Object:  obj,
		Commit:  u.GetAnnotations()[AnnotationCommit],
		Created: u.GetCreationTimestamp().UTC(),
		Data:    data,
	}
}

// stripOwn removes the labels and annotations the target adds to every object.
func stripOwn(doc map[string]any) {
	md, _ := doc["metadata"].(map[string]any)
	dropKeys(md, "labels", "kgit.dev/managed-by", "kgit.dev/app", LabelPartOf)
	if ann, _ := md["annotations"].(map[string]any); ann != nil {
		if s, _ := ann[AnnotationChangeCause].(string); strings.HasPrefix(s, "kgit ") {
			delete(ann, AnnotationChangeCause)
		}
	}
	dropKeys(md, "annotations", AnnotationCommit)
	if tm, ok, _ := unstructured.NestedMap(doc, "spec", "template", "metadata"); ok {
		dropKeys(tm, "annotations", AnnotationCommit)
		_ = unstructured.SetNestedMap(doc, tm, "spec", "template", "metadata")
	}
}

// dropKeys deletes keys from the map m[field], and the map itself when it is left
// empty.
func dropKeys(m map[string]any, field string, keys ...string) {
	if m == nil {
		return
	}
	sub, _ := m[field].(map[string]any)
	if sub == nil {
		return
	}
	for _, k := range keys {
		delete(sub, k)
	}
	if len(sub) == 0 {
		delete(m, field)
	}
}
