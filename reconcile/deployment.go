package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// syncDeployment is one pass of the Deployment controller: find or create the new
// ReplicaSet, then scale new and old ones by the strategy's rules. It reports whether
// the rollout is complete.
func (r *Reconciler) syncDeployment(ctx context.Context, st *State, a *Applied, d *manifest.Deployment) (bool, error) {
	owned := st.Owned(a.Key)
	newRS, old := splitNew(owned, d)
	s := StrategyOf(d)
	if newRS == nil {
		_, err := r.createReplicaSet(ctx, st, a, d, owned)
		return false, err
	}
	if rev := maxRevision(old) + 1; newRS.Revision() < rev {
		// A template that was live before is new again (a rollback): it gets the next number.
		setRevision(newRS.RS, rev)
		if err := r.putRS(ctx, newRS); err != nil {
			return false, err
		}
	}
	if s.Type == "Recreate" {
		return r.rolloutRecreate(ctx, d, newRS, old)
	}
	now := r.now()
	all := append(scaleViews(old, now), scaleView(newRS, now))
	newView := all[len(all)-1]
	switch want := s.Replicas; {
	case newView.Replicas > want:
		return false, r.scale(ctx, d, newRS, want)
	case newView.Replicas < want:
		n, err := NewRSNewReplicas(s, all, newView)
		if err != nil {
			return false, err
		}
		if n != newView.Replicas {
			return false, r.scale(ctx, d, newRS, n)
		}
	}
	sizes, _, _ := ReconcileOld(s, scaleViews(activeRS(old), now), newView)
	if len(sizes) > 0 {
		for _, rs := range old {
			if n, ok := sizes[rs.RS.Name]; ok && n != rs.Replicas() {
				if err := r.scale(ctx, d, rs, n); err != nil {
					return false, err
				}
			}
		}
		return false, nil
	}
	status := st.StatusOf(d, now)
	complete := status.Updated == s.Replicas && status.Replicas == s.Replicas && status.Available == s.Replicas
	if complete {
		return true, r.cleanupHistory(ctx, d, old)
	}
	return false, nil
}

// rolloutRecreate scales every old ReplicaSet to 0 and waits until their pods are
// gone (not just asked to stop) before the new one is scaled up.
func (r *Reconciler) rolloutRecreate(ctx context.Context, d *manifest.Deployment, newRS *RS, old []*RS) (bool, error) {
	oldPods := 0
	for _, rs := range old {
		if rs.Replicas() > 0 {
			if err := r.scale(ctx, d, rs, 0); err != nil {
				return false, err
			}
		}
		oldPods += len(rs.Pods)
	}
	if oldPods > 0 || r.deletesPending() > 0 {
		return false, nil
	}
	if want := int(*d.Spec.Replicas); newRS.Replicas() != want {
		return false, r.scale(ctx, d, newRS, want)
	}
	c := newRS.Counts(r.now())
	return c.Available == newRS.Replicas(), nil
}

// splitNew returns the oldest ReplicaSet whose template equals the Deployment's, and the others.
func splitNew(owned []*RS, d *manifest.Deployment) (*RS, []*RS) {
	var newRS *RS
	var old []*RS
	for _, rs := range owned {
		if newRS == nil && equalIgnoreHash(&rs.RS.Spec.Template, &d.Spec.Template) {
			newRS = rs
		} else {
			old = append(old, rs)
		}
	}
	return newRS, old
}

func activeRS(rss []*RS) []*RS {
	var out []*RS
	for _, rs := range rss {
		if rs.Replicas() > 0 {
			out = append(out, rs)
		}
	}
	return out
}

func scaleView(rs *RS, now time.Time) ScaleRS {
	return ScaleRS{Name: rs.RS.Name, Replicas: rs.Replicas(), Available: rs.Counts(now).Available, Created: rs.Created}
}

func scaleViews(rss []*RS, now time.Time) []ScaleRS {
	out := make([]ScaleRS, len(rss))
	for i, rs := range rss {
		out[i] = scaleView(rs, now)
	}
	return out
}

func maxRevision(rss []*RS) int {
	n := 0
	for _, rs := range rss {
		n = max(n, rs.Revision())
	}
	return n
}

func setRevision(rs *manifest.ReplicaSet, rev int) {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	rs.Annotations[RevisionAnnotation] = strconv.Itoa(rev)
}

// createReplicaSet creates the Deployment's new ReplicaSet, named <deployment>-<hash>;
// on a hash collision with a different template it bumps the collision count.
func (r *Reconciler) createReplicaSet(ctx context.Context, st *State, a *Applied, d *manifest.Deployment, owned []*RS) (*RS, error) {
	var hash, name string
	for collisions := int32(0); ; collisions++ {
		hash = TemplateHash(&d.Spec.Template, collisions)
		name = d.Name + "-" + hash
		if st.ReplicaSets[d.Namespace+"/"+name] == nil {
			break
		}
	}
	t := d.Spec.Template
	t.Labels = cloneWith(t.Labels, HashLabel, hash)
	sel := &manifest.LabelSelector{MatchLabels: cloneWith(d.Spec.Selector.MatchLabels, HashLabel, hash), MatchExpressions: d.Spec.Selector.MatchExpressions}
	rs := &manifest.ReplicaSet{
		TypeMeta:   manifest.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: manifest.ObjectMeta{Name: name, Namespace: d.Namespace, Labels: t.Labels},
		Spec:       manifest.ReplicaSetSpec{Replicas: new(int32), MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: t},
	}
	setRevision(rs, maxRevision(owned)+1)
	s := StrategyOf(d)
	now := r.now()
	n, err := NewRSNewReplicas(s, scaleViews(owned, now), ScaleRS{Name: name})
	if err != nil {
		return nil, err
	}
	*rs.Spec.Replicas = int32(n)
	out := &RS{RS: rs, Owner: a.Key, Commit: a.Commit, Created: now.UTC()}
	if err := r.putRS(ctx, out); err != nil {
		return nil, err
	}
	r.event(ObjectName(a.Key), "ScalingReplicaSet", "Scaled up replica set %s to %d", name, n)
	return out, nil
}

func cloneWith(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}

// putRS writes a Deployment-owned ReplicaSet's record.
func (r *Reconciler) putRS(ctx context.Context, rs *RS) error {
	extra := map[string]string{backend.LabelOwnerKind: rs.Owner.Kind, backend.LabelOwner: rs.Owner.Name,
		backend.LabelHash: rs.RS.Spec.Template.Labels[HashLabel], backend.LabelRevision: rs.RS.Annotations[RevisionAnnotation]}
	rec, err := r.record("ReplicaSet", &rs.RS.ObjectMeta, rs.RS, rs.Commit, extra, rs.Created)
	if err != nil {
		return err
	}
	if err := r.Backend.PutRecord(ctx, rec); err != nil {
		return fmt.Errorf("save replicaset %s: %w", rs.RS.Name, err)
	}
	rs.record = rec
	return nil
}

// scale sets a ReplicaSet's spec.replicas and says so as Kubernetes does.
func (r *Reconciler) scale(ctx context.Context, d *manifest.Deployment, rs *RS, n int) error {
	from := rs.Replicas()
	*rs.RS.Spec.Replicas = int32(n)
	if err := r.putRS(ctx, rs); err != nil {
		return err
	}
	dir := "up"
	if n < from {
		dir = "down"
	}
	r.event("deployment.apps/"+d.Name, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", dir, rs.RS.Name, from, n)
	return nil
}

// cleanupHistory deletes the oldest empty old ReplicaSets beyond revisionHistoryLimit.
func (r *Reconciler) cleanupHistory(ctx context.Context, d *manifest.Deployment, old []*RS) error {
	var empty []*RS
	for _, rs := range old {
		if rs.Replicas() == 0 && len(rs.Pods) == 0 {
			empty = append(empty, rs)
		}
	}
	limit := int(*d.Spec.RevisionHistoryLimit)
	for i := 0; i < len(empty)-limit; i++ {
		if err := r.Backend.DeleteRecord(ctx, empty[i].record); err != nil {
			return err
		}
		r.event("deployment.apps/"+d.Name, "DeletedReplicaSet", "Deleted old replica set %s (revision history limit %d)", empty[i].RS.Name, limit)
	}
	return nil
}

func sortedApplied(st *State) []*Applied {
	out := make([]*Applied, 0, len(st.Applied))
	for _, a := range st.Applied {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].Key, out[j].Key) })
	return out
}

func keyLess(a, b manifest.Key) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

func sortedRS(st *State) []*RS {
	out := make([]*RS, 0, len(st.ReplicaSets))
	for _, rs := range st.ReplicaSets {
		out = append(out, rs)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].RS.Namespace+"/"+out[i].RS.Name < out[j].RS.Namespace+"/"+out[j].RS.Name
	})
	return out
}

// pending says what a sync that did not converge was still waiting for.
func (r *Reconciler) pending(st *State) string {
	var waits []string
	for _, rs := range sortedRS(st) {
		c := rs.Counts(r.now())
		if c.Replicas != rs.Replicas() || c.Ready != rs.Replicas() {
			waits = append(waits, fmt.Sprintf("replicaset %s has %d of %d pods ready%s", rs.RS.Name, c.Ready, rs.Replicas(), whyNotReady(rs.Pods)))
		}
	}
	for _, a := range sortedApplied(st) {
		if a.Key.Kind == "Pod" {
			for _, p := range st.PodsOf(a.Key) {
				if !p.Status.Ready {
					waits = append(waits, fmt.Sprintf("pod %s is not ready%s", p.Name, whyNotReady([]*backend.Pod{p})))
				}
			}
		}
	}
	if len(waits) == 0 {
		return "pods are still terminating"
	}
	return strings.Join(waits, "; ")
}

// whyNotReady summarises why pods are not ready: reasons, exit codes, restarts.
func whyNotReady(pods []*backend.Pod) string {
	var why []string
	for _, p := range pods {
		if p.Status.Ready {
			continue
		}
		for _, c := range p.Status.Containers {
			if c.State == backend.StateRunning {
				continue
			}
			s := fmt.Sprintf("%s/%s: %s", p.Name, c.Name, c.Reason)
			if t := c.LastTermination; t != nil {
				s += fmt.Sprintf(" (last exit code %d, %d restarts)", t.ExitCode, c.RestartCount)
			}
			if c.Message != "" && c.Reason != "CrashLoopBackOff" {
				s += ": " + c.Message
			}
			why = append(why, s)
		}
	}
	if len(why) == 0 {
		return ""
	}
	if len(why) > 3 {
		why = append(why[:3], fmt.Sprintf("and %d more", len(why)-3))
	}
	return " (" + strings.Join(why, ", ") + ")"
}
