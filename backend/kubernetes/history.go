package kubernetes

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

const annRevision = "deployment.kubernetes.io/revision"

// replicaSets lists the ReplicaSets a Deployment owns (read once per namespace and
// Live).
func (t *Target) replicaSets(ctx context.Context, l *Live, d *unstructured.Unstructured) []*unstructured.Unstructured {
	ns := d.GetNamespace()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rs == nil {
		l.rs = map[string][]*unstructured.Unstructured{}
	}
	all, ok := l.rs[ns]
	if !ok {
		list, err := t.dyn.Resource(rsGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil
		}
		for i := range list.Items {
			all = append(all, &list.Items[i])
		}
		l.rs[ns] = all
	}
	var out []*unstructured.Unstructured
	for _, rs := range all {
		for _, ref := range rs.GetOwnerReferences() {
			if ref.UID == d.GetUID() && ref.Kind == "Deployment" {
				out = append(out, rs)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return revisionOf(out[i]) < revisionOf(out[j]) })
	return out
}

func revisionOf(u *unstructured.Unstructured) int {
	n, _ := strconv.Atoi(u.GetAnnotations()[annRevision])
	return n
}

// currentRS is the ReplicaSet of a Deployment's current revision.
func (t *Target) currentRS(ctx context.Context, l *Live, d *unstructured.Unstructured) *unstructured.Unstructured {
	rev := d.GetAnnotations()[annRevision]
	for _, rs := range t.replicaSets(ctx, l, d) {
		if rs.GetAnnotations()[annRevision] == rev {
			return rs
		}
	}
	return nil
}

// History implements reconcile.Target: a Deployment's revisions from its ReplicaSets
// (deployment.kubernetes.io/revision), each with the commit kgit annotated its pod
// template with (or the ReplicaSet's copy of the Deployment's annotation), oldest
// first. The last complete revision is the one the parent Secret recorded when the
// Deployment was last Current; without a record, the current one when it is
// available, else the one before it.
func (t *Target) History(live reconcile.Live, k manifest.Key) []reconcile.Revision {
	l := live.(*Live)
	d := l.objs[k]
	if d == nil || k.Kind != "Deployment" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rss := t.replicaSets(ctx, l, d)
	curRev := d.GetAnnotations()[annRevision]
	var out []reconcile.Revision
	for _, rs := range rss {
		tmpl, _, _ := unstructured.NestedMap(rs.Object, "spec", "template")
		commit, _, _ := unstructured.NestedString(tmpl, "metadata", "annotations", AnnotationCommit)
		if commit == "" {
			commit = rs.GetAnnotations()[AnnotationCommit]
		}
		if md, _ := tmpl["metadata"].(map[string]any); md != nil {
			dropKeys(md, "labels", labelTemplateHash)
			delete(md, "creationTimestamp")
		}
		var pt manifest.PodTemplateSpec
		if b, err := json.Marshal(tmpl); err == nil {
			_ = json.Unmarshal(b, &pt)
		}
		out = append(out, reconcile.Revision{
			Number:   revisionOf(rs),
			Commit:   commit,
			Applied:  rs.GetCreationTimestamp().UTC(),
			RS:       rs.GetName(),
			Template: pt,
			Current:  rs.GetAnnotations()[annRevision] == curRev,
		})
	}
	last := -1
	if hash := l.inv.complete[k.Namespace+"/"+k.Name]; hash != "" {
		for i, rs := range rss {
			if rs.GetLabels()[labelTemplateHash] == hash {
				last = i
			}
		}
	}
	if last < 0 {
		for i, r := range out {
			if r.Current {
				last = i
				if _, p := progressOf(d); p.Progressing == nil || p.Progressing.Reason != reconcile.ReasonNewRSAvailable {
					last = i - 1
				}
			}
		}
	}
	if last >= 0 && last < len(out) {
		out[last].LastComplete = true
	}
	return out
}
