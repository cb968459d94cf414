package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// workloads are the kinds whose pod template kgit annotates with the commit that
// introduced it, so that each revision (ReplicaSet, ControllerRevision) names its commit.
var workloads = map[string]bool{"apps/Deployment": true, "apps/StatefulSet": true, "apps/DaemonSet": true}

// Apply implements reconcile.Target. It applies the document as written (Applied.Raw,
// or the object kgit made when there is none) with server-side apply under the field
// manager kgit, with the app's labels, the ApplySet label and the commit. An object
// that exists is dry-run first: one the apply would not change is not written. A
// change of an immutable field deletes the object and creates it again, as kubectl
// apply --force does. A CustomResourceDefinition is waited for until it is established.
func (t *Target) Apply(ctx context.Context, live reconcile.Live, a *reconcile.Applied) error {
	l := live.(*Live)
	doc, gvk, err := t.document(a)
	if err != nil {
		return err
	}
	m, err := t.mapping(gvk)
	if err != nil {
		return err
	}
	md := doc["metadata"].(map[string]any)
	ns := ""
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		delete(md, "namespace")
	} else {
		ns, _ = md["namespace"].(string)
		if ns == "" {
			ns = t.Namespace
			md["namespace"] = ns
		}
	}
	if gk := gkString(gvk.GroupKind()); !l.inv.covers(gk, ns) {
		l.inv.add(gk, ns) // the parent names a kind before any object of it exists
		if err := t.writeInventory(ctx, &l.inv); err != nil {
			return err
		}
	}
	c := t.client(m, ns)
	cur := l.objs[a.Key]
	if cur != nil && cur.GetLabels()[LabelPartOf] != t.ApplySetID() {
		cur = nil
	}
	name, _ := md["name"].(string)
	res, err := t.applyChecked(ctx, c, name, doc, cur, a, l)
	if isImmutable(err) {
		if err = t.recreate(ctx, c, name, cur, err); err == nil {
			cur = nil
			res, err = t.applyChecked(ctx, c, name, doc, nil, a, l)
		}
	}
	if err != nil {
		return t.wrap(err)
	}
	if gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition" {
		if err := t.established(ctx, c, name); err != nil {
			return err
		}
		t.mapper.Reset()
	}
	l.objs[a.Key] = res
	c2 := *a
	l.applied[a.Key] = &c2
	t.mu.Lock()
	t.changed = true
	if a.Commit != "" {
		t.commit = a.Commit
	}
	t.mu.Unlock()
	return nil
}

// applyChecked dry-runs the apply, settles a workload's template commit, and writes
// only when the dry run differs from the live object.
func (t *Target) applyChecked(ctx context.Context, c resourceClient, name string, doc map[string]any, cur *unstructured.Unstructured, a *reconcile.Applied, l *Live) (*unstructured.Unstructured, error) {
	gvk := schema.FromAPIVersionAndKind(doc["apiVersion"].(string), doc["kind"].(string))
	templated := workloads[gvk.Group+"/"+gvk.Kind]
	given := ""
	if templated {
		given, _, _ = unstructured.NestedString(doc, "spec", "template", "metadata", "annotations", AnnotationCommit)
	}
	// A template that did not change keeps the commit that introduced it, so a commit
	// that changes only replicas or a label rolls no pod.
	if templated && given == "" && cur != nil {
		if c, _, _ := unstructured.NestedString(cur.Object, "spec", "template", "metadata", "annotations", AnnotationCommit); c != "" {
			setTemplateCommit(doc, c)
		}
	} else if templated && given == "" {
		setTemplateCommit(doc, a.Commit)
	}
	if cur == nil {
		return t.patch(ctx, c, name, doc, false) // a new object: nothing to compare
	}
	dry, err := t.patch(ctx, c, name, doc, true)
	if err != nil {
		return nil, err
	}
	if templated && given == "" {
		if !sameTemplate(dry, cur, true) {
			commit := a.Commit
			// the template of an earlier revision (a rollback): its ReplicaSet's commit,
			// so the controller takes that ReplicaSet back instead of making a new one
			for _, rs := range t.replicaSets(ctx, l, cur) {
				if sameTemplate(dry, rs, false) {
					commit, _, _ = unstructured.NestedString(rs.Object, "spec", "template", "metadata", "annotations", AnnotationCommit)
					break
				}
			}
			setTemplateCommit(doc, commit)
			if dry, err = t.patch(ctx, c, name, doc, true); err != nil {
				return nil, err
			}
		}
	}
	if unchanged(dry, cur) {
		return cur, nil
	}
	return t.patch(ctx, c, name, doc, false)
}

type resourceClient interface {
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, options metav1.PatchOptions, subresources ...string) (*unstructured.Unstructured, error)
	Get(ctx context.Context, name string, options metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error)
	Delete(ctx context.Context, name string, options metav1.DeleteOptions, subresources ...string) error
}

func (t *Target) patch(ctx context.Context, c resourceClient, name string, doc map[string]any, dryRun bool) (*unstructured.Unstructured, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return c.Patch(ctx, name, types.ApplyPatchType, body, opts)
}

func setTemplateCommit(doc map[string]any, commit string) {
	if commit == "" {
		return
	}
	_ = unstructured.SetNestedField(doc, commit, "spec", "template", "metadata", "annotations", AnnotationCommit)
}

// sameTemplate compares the pod templates of two objects as the server holds them;
// with withCommit false, the commit annotations and pod-template-hash are left out.
func sameTemplate(a, b *unstructured.Unstructured, withCommit bool) bool {
	ta, _, _ := unstructured.NestedMap(a.Object, "spec", "template")
	tb, _, _ := unstructured.NestedMap(b.Object, "spec", "template")
	if !withCommit {
		for _, tm := range []map[string]any{ta, tb} {
			if md, _ := tm["metadata"].(map[string]any); md != nil {
				dropKeys(md, "annotations", AnnotationCommit)
				dropKeys(md, "labels", labelTemplateHash)
				if len(md) == 0 {
					delete(tm, "metadata")
				}
			}
		}
	}
	return reflect.DeepEqual(ta, tb)
}

// unchanged reports whether an apply's dry run leaves the live object as it is: the
// same object (status aside) and the same fields owned by kgit.
func unchanged(dry, cur *unstructured.Unstructured) bool {
	return reflect.DeepEqual(comparable(dry), comparable(cur)) && ownedSet(dry) == ownedSet(cur)
}

func comparable(u *unstructured.Unstructured) map[string]any {
	out := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "status" && k != "metadata" {
			out[k] = v
		}
	}
	md := map[string]any{}
	for k, v := range u.Object["metadata"].(map[string]any) {
		if k != "managedFields" && k != "resourceVersion" && k != "generation" {
			md[k] = v
		}
	}
	out["metadata"] = md
	return out
}

func ownedSet(u *unstructured.Unstructured) string {
	for _, mf := range u.GetManagedFields() {
		if mf.Manager == FieldManager && mf.Operation == "Apply" && mf.Subresource == "" && mf.FieldsV1 != nil {
			return string(mf.FieldsV1.Raw)
		}
	}
	return ""
}

// isImmutable reports an apply refused because it changes a field that cannot change.
func isImmutable(err error) bool {
	return err != nil && apierrors.IsInvalid(err) && (strings.Contains(err.Error(), "immutable") || strings.Contains(err.Error(), "Forbidden: pod updates"))
}

// recreate deletes an object whose immutable fields changed and waits until it is
// gone, as kubectl apply --force does.
func (t *Target) recreate(ctx context.Context, c resourceClient, name string, cur *unstructured.Unstructured, why error) error {
	if cur == nil {
		return why // not kgit's: never deleted to make room
	}
	k := keyOf(cur)
	t.Emit(reconcile.ObjectName(k), "Recreating", "%s: an immutable field changed: deleting and creating it again (%v)", reconcile.ObjectName(k), apiMessage(why))
	uid := cur.GetUID()
	bg := metav1.DeletePropagationBackground
	err := c.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !notFound(err) {
		return err
	}
	for {
		u, err := c.Get(ctx, name, getOpts)
		if notFound(err) || (err == nil && u.GetUID() != uid) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s is still being deleted", reconcile.ErrTimeout, reconcile.ObjectName(k))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Message
	}
	return err.Error()
}

// established waits until a CustomResourceDefinition is established.
func (t *Target) established(ctx context.Context, c resourceClient, name string) error {
	for {
		u, err := c.Get(ctx, name, getOpts)
		if err != nil {
			return t.wrap(err)
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if cm["type"] == "Established" && cm["status"] == "True" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: customresourcedefinition %s is not established", reconcile.ErrTimeout, name)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// document is what Apply sends: the document as written (or the object kgit made),
// with the overrides kgit decided, the app's labels and the commit.
func (t *Target) document(a *reconcile.Applied) (map[string]any, schema.GroupVersionKind, error) {
	src := a.Raw
	if src == nil {
		src = a.Data
	}
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		return nil, schema.GroupVersionKind{}, fmt.Errorf("%s: %w", a.Key, err)
	}
	delete(doc, "status")
	apiVersion, _ := doc["apiVersion"].(string)
	kind, _ := doc["kind"].(string)
	gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
	md, _ := doc["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		doc["metadata"] = md
	}
	md["name"] = a.Key.Name
	if a.Key.Namespace != "" {
		md["namespace"] = a.Key.Namespace
	}
	_, om := manifest.MetaOf(a.Object)
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
	}
	for k := range ann {
		if strings.HasPrefix(k, "kgit.dev/override") {
			delete(ann, k)
		}
	}
	for k, v := range om.Annotations {
		if strings.HasPrefix(k, "kgit.dev/override") {
			ann[k] = v
		}
	}
	if a.Raw != nil && reconcile.OverrideOf(om.Annotations).Kind == "scale" {
		if d, ok := a.Object.(*manifest.Deployment); ok && d.Spec.Replicas != nil {
			_ = unstructured.SetNestedField(doc, int64(*d.Spec.Replicas), "spec", "replicas")
		}
	}
	if a.Commit != "" {
		ann[AnnotationCommit] = a.Commit
		if _, set := ann[AnnotationChangeCause]; !set && workloads[gvk.Group+"/"+gvk.Kind] {
			ann[AnnotationChangeCause] = fmt.Sprintf("kgit %.12s", a.Commit)
		}
	}
	md["annotations"] = ann
	labels, _ := md["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
	}
	labels["kgit.dev/managed-by"] = "kgit"
	labels["kgit.dev/app"] = appLabel(t.App)
	labels[LabelPartOf] = t.ApplySetID()
	md["labels"] = labels
	return doc, gvk, nil
}

// Prune implements reconcile.Target: it deletes a member of the app's ApplySet (the
// cluster's garbage collector removes what it owns). An object that is not a member
// is never deleted.
func (t *Target) Prune(ctx context.Context, live reconcile.Live, a *reconcile.Applied) error {
	l := live.(*Live)
	u := l.objs[a.Key]
	if u == nil {
		delete(l.applied, a.Key)
		return nil
	}
	if u.GetLabels()[LabelPartOf] != t.ApplySetID() {
		return fmt.Errorf("%s is not part of app %s: not pruned", reconcile.ObjectName(a.Key), t.App)
	}
	m, err := t.mapping(u.GroupVersionKind())
	if err != nil {
		return err
	}
	uid := u.GetUID()
	bg := metav1.DeletePropagationBackground
	err = t.client(m, u.GetNamespace()).Delete(ctx, u.GetName(), metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !notFound(err) {
		return t.wrap(err)
	}
	delete(l.objs, a.Key)
	delete(l.applied, a.Key)
	t.mu.Lock()
	t.changed = true
	t.mu.Unlock()
	return nil
}

// Down implements reconcile.Target: it deletes every member of the app's ApplySet,
// then its parent Secret.
func (t *Target) Down(ctx context.Context) error {
	l, err := t.load(ctx)
	if err != nil {
		return err
	}
	for _, u := range l.Objects() {
		k := keyOf(u)
		if err := t.Prune(ctx, l, &reconcile.Applied{Key: k}); err != nil {
			return err
		}
		t.Emit(reconcile.ObjectName(k), "Deleted", "%s deleted", reconcile.ObjectName(k))
	}
	err = t.dyn.Resource(secretGVR).Namespace(t.Namespace).Delete(ctx, t.ParentName(), metav1.DeleteOptions{})
	if err != nil && !notFound(err) {
		return t.wrap(err)
	}
	return nil
}
