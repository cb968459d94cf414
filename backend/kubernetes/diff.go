package kubernetes

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// Preview is what applying a would change, for diff: the live object (nil when it does
// not exist) and the server's dry run of the apply, both without the fields no one
// writes (managedFields, resourceVersion, generation, uid, creationTimestamp, status),
// and a Secret's values masked as kubectl diff masks them. The server fills in its
// defaults on both sides, so they never show as differences.
func (t *Target) Preview(ctx context.Context, live reconcile.Live, a *reconcile.Applied) (before, after map[string]any, err error) {
	l := live.(*Live)
	doc, gvk, err := t.document(a)
	if err != nil {
		return nil, nil, err
	}
	m, err := t.mapping(gvk)
	if err != nil {
		return nil, nil, err
	}
	md := doc["metadata"].(map[string]any)
	ns := ""
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		delete(md, "namespace")
	} else if ns, _ = md["namespace"].(string); ns == "" {
		ns = t.Namespace
		md["namespace"] = ns
	}
	cur := l.objs[a.Key]
	if cur != nil {
		if c, _, _ := unstructured.NestedString(cur.Object, "spec", "template", "metadata", "annotations", AnnotationCommit); c != "" && workloads[gvk.Group+"/"+gvk.Kind] {
			setTemplateCommit(doc, c)
		}
	} else if workloads[gvk.Group+"/"+gvk.Kind] {
		setTemplateCommit(doc, a.Commit)
	}
	dry, err := t.patch(ctx, t.client(m, ns), a.Key.Name, doc, true)
	if isImmutable(err) {
		dry, err = &unstructured.Unstructured{Object: doc}, nil // it would be recreated
	}
	if err != nil {
		return nil, nil, t.wrap(err)
	}
	after = cleanForDiff(dry)
	if cur != nil {
		before = cleanForDiff(cur)
	}
	if sensitive(gvk.Group, gvk.Kind, doc, before) {
		maskSecret(before, after)
	}
	return before, after, nil
}

// Removal is what pruning a live object would remove, for diff: the object as the
// server holds it, cleaned as Preview cleans it (nil when it is not live).
func (l *Live) Removal(a *reconcile.Applied) map[string]any {
	u := l.objs[a.Key]
	if u == nil {
		return nil
	}
	out := cleanForDiff(u)
	if sensitive(u.GroupVersionKind().Group, a.Key.Kind, out) {
		maskSecret(out, nil)
	}
	return out
}

func cleanForDiff(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy().Object
	delete(c, "status")
	if md, _ := c["metadata"].(map[string]any); md != nil {
		for _, k := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
			delete(md, k)
		}
	}
	return c
}

// sensitive reports whether an object's values must not be shown, as
// manifest.Sensitive does for the objects kgit reads: a Secret, or a ConfigMap from a
// SOPS-encrypted file (its annotation says so, on the desired side or the live one).
func sensitive(group, kind string, sides ...map[string]any) bool {
	if group != "" {
		return false
	}
	if kind == "Secret" {
		return true
	}
	if kind != "ConfigMap" {
		return false
	}
	for _, m := range sides {
		if v, _, _ := unstructured.NestedString(m, "metadata", "annotations", manifest.DecryptedAnnotation); v == "true" {
			return true
		}
	}
	return false
}

// maskSecret replaces a Secret's (or a sensitive ConfigMap's) values: "***" where both sides agree, "*** (before)"
// and "*** (after)" where they differ.
func maskSecret(before, after map[string]any) {
	for _, field := range []string{"data", "stringData", "binaryData"} {
		b, _ := nestedMap(before, field)
		a, _ := nestedMap(after, field)
		for k, v := range b {
			switch av, ok := a[k]; {
			case ok && av == v:
				b[k], a[k] = "***", "***"
			case ok:
				b[k], a[k] = "*** (before)", "*** (after)"
			default:
				b[k] = "*** (before)"
			}
		}
		for k, v := range a {
			if v != "***" && v != "*** (after)" {
				a[k] = "*** (after)"
			}
		}
	}
}

func nestedMap(m map[string]any, field string) (map[string]any, bool) {
	if m == nil {
		return nil, false
	}
	sub, ok := m[field].(map[string]any)
	return sub, ok
}
