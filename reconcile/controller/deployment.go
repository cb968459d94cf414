package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// rollout is where a Deployment's rollout stands after a pass of its controller.
type rollout int

const (
	rolloutInProgress rollout = iota
	rolloutComplete
	rolloutFailed // the progress deadline was exceeded
)

// syncDeployment is one pass of the Deployment controller: find or create the new
// ReplicaSet, then either spread a replicas change proportionally or take one step of
// the strategy, and record the progress.
func (r *Local) syncDeployment(ctx context.Context, st *State, a *Object, d *manifest.Deployment) (rollout, error) {
	acted := r.actions.Load()
	owned := st.Owned(a.Key)
	newRS, old := splitNew(st, owned, d)
	s := StrategyOf(d)
	now := r.now()
	if IsScalingEvent(s, scaleViews(activeRS(owned), now)) {
		var nv *ScaleRS
		if newRS != nil {
			v := scaleView(newRS, now)
			nv = &v
		}
		sizes := ProportionalScale(s, nv, scaleViews(old, now), a.Progress.Replicas)
		return rolloutInProgress, r.scaleAll(ctx, d, owned, sizes)
	}
	if newRS == nil && s.Type == "Recreate" {
		// Recreate creates the new ReplicaSet only once every old pod is gone.
		if running, err := r.scaleDownForRecreate(ctx, d, old); running || err != nil {
			return rolloutInProgress, err
		}
	}
	if newRS == nil {
		rs, err := r.createReplicaSet(ctx, st, a, d, owned)
		if err != nil {
			return rolloutInProgress, err
		}
		ds := st.StatusOf(a.Key, d, now)
		p := a.Progress
		p.Replicas, p.Updated, p.Ready, p.Available = ds.Replicas, 0, ds.Ready, ds.Available
		p.Progressing = setCondition(p.Progressing, reconcile.Condition{Type: "Progressing", Status: "True", Reason: reconcile.ReasonNewRSCreated,
			Message: fmt.Sprintf("Created new replica set %q", rs.RS.Name), LastUpdateTime: now, LastTransitionTime: now})
		return rolloutInProgress, r.saveProgress(ctx, a, p)
	}
	if rev := maxRevision(old) + 1; newRS.Revision() < rev {
		// A template that was live before is new again (a rollback): it gets the next
		// number, and its old one goes to revision-history.
		if newRS.RS.Annotations == nil {
			newRS.RS.Annotations = map[string]string{}
		}
		SetRevision(newRS.RS.Annotations, strconv.Itoa(rev), maxRevisionHistoryChars)
		if err := r.putRS(ctx, d, newRS); err != nil {
			return rolloutInProgress, err
		}
	}
	var err error
	switch s.Type {
	case "Recreate":
		err = r.rolloutRecreate(ctx, d, newRS, old)
	case "OnDelete":
		err = r.rolloutOnDelete(ctx, d, newRS, old)
	default:
		err = r.rolloutRolling(ctx, d, s, newRS, old)
	}
	if err != nil {
		return rolloutInProgress, err
	}
	return r.trackProgress(ctx, st, a, d, newRS, old, r.actions.Load() != acted)
}

// trackProgress computes the Deployment's status and Progressing condition, saves them
// when they changed, and cleans up old ReplicaSets once the rollout is complete.
//
// A rollout past its deadline has failed only when this pass changed nothing: a pass that
// scaled a ReplicaSet or replaced a pod is still moving, as after a rollback, whose
// progress shows on the next pass.
func (r *Local) trackProgress(ctx context.Context, st *State, a *Object, d *manifest.Deployment, newRS *RS, old []*RS, acted bool) (rollout, error) {
	now := r.now()
	ds := st.StatusOf(a.Key, d, now)
	cur := reconcile.Progress{Replicas: ds.Replicas, Updated: ds.Updated, Ready: ds.Ready, Available: ds.Available, LastCompleteHash: a.Progress.LastCompleteHash}
	cur.Progressing = SyncRolloutStatus(d, a.Progress, cur, newRS.RS.Name, now)
	complete := DeploymentComplete(int(*d.Spec.Replicas), cur)
	if d.Spec.Strategy.Type == "OnDelete" {
		// OnDelete never replaces a pod: done when every pod runs, old template or new.
		want := int(*d.Spec.Replicas)
		complete = cur.Replicas == want && cur.Available == want
	}
	if complete {
		cur.LastCompleteHash = newRS.RS.Spec.Template.Labels[HashLabel]
	}
	if cur.Progressing != nil && cur.Progressing.Reason == reconcile.ReasonDeadlineExceeded &&
		(a.Progress.Progressing == nil || a.Progress.Progressing.Reason != reconcile.ReasonDeadlineExceeded) {
		r.event(controllerName(d), "ProgressDeadlineExceeded", "%s", cur.Progressing.Message)
	}
	if err := r.saveProgress(ctx, a, cur); err != nil {
		return rolloutInProgress, err
	}
	switch {
	case complete:
		return rolloutComplete, r.cleanupHistory(ctx, d, old)
	case cur.Progressing != nil && cur.Progressing.Reason == reconcile.ReasonDeadlineExceeded && !acted:
		return rolloutFailed, nil
	}
	return rolloutInProgress, nil
}

// saveProgress writes a Deployment's status to its record when it changed.
func (r *Local) saveProgress(ctx context.Context, a *Object, p reconcile.Progress) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if string(data) == string(a.record.Status) {
		return nil
	}
	a.record.Status = data
	a.Progress = p
	if d, ok := a.Object.(*manifest.Deployment); ok && r.Progress != nil {
		replicas := *d.Spec.Replicas
		if a.autoscaled != nil {
			replicas = *a.autoscaled
		}
		r.Progress.Progress(reconcile.ObjectName(a.Key), int(replicas), p)
	}
	return r.Backend.PutRecord(ctx, a.record)
}

// rolloutRolling is one step of a rolling update: scale the new ReplicaSet up within
// maxSurge, else the old ones down as far as maxUnavailable allows.
func (r *Local) rolloutRolling(ctx context.Context, d *manifest.Deployment, s Strategy, newRS *RS, old []*RS) error {
	now := r.now()
	all := append(scaleViews(old, now), scaleView(newRS, now))
	newView := all[len(all)-1]
	switch want := s.Replicas; {
	case newView.Replicas > want:
		return r.scale(ctx, d, newRS, want)
	case newView.Replicas < want:
		n, err := NewRSNewReplicas(s, all, newView)
		if err != nil {
			return err
		}
		if n != newView.Replicas {
			return r.scale(ctx, d, newRS, n)
		}
	}
	sizes, _, _ := ReconcileOld(s, scaleViews(activeRS(old), now), newView)
	return r.scaleAll(ctx, d, old, sizes)
}

// scaleAll applies new sizes to the ReplicaSets they name.
func (r *Local) scaleAll(ctx context.Context, d *manifest.Deployment, rss []*RS, sizes map[string]int) error {
	for _, rs := range rss {
		if n, ok := sizes[rs.RS.Name]; ok && n != rs.Replicas() {
			if err := r.scale(ctx, d, rs, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// rolloutRecreate scales every old ReplicaSet to 0 and waits until their pods are
// gone (not just asked to stop) before the new one is scaled up.
func (r *Local) rolloutRecreate(ctx context.Context, d *manifest.Deployment, newRS *RS, old []*RS) error {
	if running, err := r.scaleDownForRecreate(ctx, d, old); running || err != nil {
		return err
	}
	if want := int(*d.Spec.Replicas); newRS.Replicas() != want {
		return r.scale(ctx, d, newRS, want)
	}
	return nil
}

// rolloutOnDelete is a DaemonSet's OnDelete strategy: old pods are never replaced; a pod
// that goes (deleted, or lost) comes back from the new template.
func (r *Local) rolloutOnDelete(ctx context.Context, d *manifest.Deployment, newRS *RS, old []*RS) error {
	for _, rs := range old {
		if n := activePods([]*RS{rs}); rs.Replicas() != n {
			if err := r.scale(ctx, d, rs, n); err != nil {
				return err
			}
		}
	}
	if want := max(0, int(*d.Spec.Replicas)-activePods(old)); newRS.Replicas() != want {
		return r.scale(ctx, d, newRS, want)
	}
	return nil
}

// controllerName names a Deployment, or the DaemonSet it stands in for, in events.
func controllerName(d *manifest.Deployment) string {
	kind := "Deployment"
	if d.Kind == "DaemonSet" {
		kind = "DaemonSet"
	}
	return reconcile.ObjectName(manifest.Key{Kind: kind, Name: d.Name})
}

// activePods counts the active pods of ReplicaSets, with those being created.
func activePods(rss []*RS) int {
	n := 0
	for _, rs := range rss {
		n += rs.Expected
		for _, p := range rs.Pods {
			if p.Status.Active() {
				n++
			}
		}
	}
	return n
}

// AsDeployment is the Deployment that stands in for a DaemonSet: one node, so one
// replica, rolled with the DaemonSet's maxSurge/maxUnavailable or kept on OnDelete.
func AsDeployment(ds *manifest.DaemonSet) *manifest.Deployment {
	one := int32(1)
	pds := int32(math.MaxInt32) // a DaemonSet has no progress deadline
	d := &manifest.Deployment{TypeMeta: manifest.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}, ObjectMeta: ds.ObjectMeta}
	d.Spec = manifest.DeploymentSpec{Replicas: &one, Selector: ds.Spec.Selector, Template: ds.Spec.Template,
		MinReadySeconds: ds.Spec.MinReadySeconds, RevisionHistoryLimit: ds.Spec.RevisionHistoryLimit, ProgressDeadlineSeconds: &pds,
		Strategy: manifest.DeploymentStrategy{Type: ds.Spec.UpdateStrategy.Type, RollingUpdate: ds.Spec.UpdateStrategy.RollingUpdate}}
	return d
}

// scaleDownForRecreate scales the old ReplicaSets to 0 and reports whether any of their
// pods still runs or is being stopped.
func (r *Local) scaleDownForRecreate(ctx context.Context, d *manifest.Deployment, old []*RS) (bool, error) {
	var counts []int
	var phases [][]string
	for _, rs := range old {
		if rs.Replicas() > 0 {
			if err := r.scale(ctx, d, rs, 0); err != nil {
				return true, err
			}
		}
		counts = append(counts, rs.Counts(r.now()).Replicas)
		var ps []string
		for _, p := range rs.Pods {
			ps = append(ps, p.Status.Phase)
		}
		phases = append(phases, ps)
	}
	return OldPodsRunning(counts, phases) || r.underWay() > 0, nil
}

// OldPodsRunning is the Recreate gate: an old ReplicaSet still counts pods, or has a
// pod that has not finished (Pending, Running or Unknown).
func OldPodsRunning(statusReplicas []int, podPhases [][]string) bool {
	for _, n := range statusReplicas {
		if n > 0 {
			return true
		}
	}
	for _, phases := range podPhases {
		for _, p := range phases {
			if p != backend.PodFailed && p != backend.PodSucceeded {
				return true
			}
		}
	}
	return false
}

// splitNew returns the oldest ReplicaSet whose template equals the Deployment's, and the others.
func splitNew(st *State, owned []*RS, d *manifest.Deployment) (*RS, []*RS) {
	var newRS *RS
	var old []*RS
	for _, rs := range owned {
		if newRS == nil && st.sameTemplate(rs, d) {
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
	v := ScaleRS{Name: rs.RS.Name, Replicas: rs.Replicas(), Available: rs.Counts(now).Available, Created: rs.Created, Desired: -1}
	if n, err := strconv.Atoi(rs.RS.Annotations[DesiredReplicasAnnotation]); err == nil {
		v.Desired = n
	}
	if n, err := strconv.Atoi(rs.RS.Annotations[MaxReplicasAnnotation]); err == nil {
		v.Max = n
	}
	return v
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
func (r *Local) createReplicaSet(ctx context.Context, st *State, a *Object, d *manifest.Deployment, owned []*RS) (*RS, error) {
	r.actions.Add(1)
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
	n, err := 0, error(nil)
	if s.Type == "OnDelete" {
		n = max(0, s.Replicas-activePods(owned))
	} else if n, err = NewRSNewReplicas(s, scaleViews(owned, now), ScaleRS{Name: name}); err != nil {
		return nil, err
	}
	*rs.Spec.Replicas = int32(n)
	out := &RS{RS: rs, Owner: a.Key, Commit: a.Commit, Created: now.UTC()}
	if err := r.putRS(ctx, d, out); err != nil {
		return nil, err
	}
	if n > 0 {
		r.event(reconcile.ObjectName(a.Key), "ScalingReplicaSet", "Scaled up replica set %s to %d", name, n)
	}
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

// putRS writes a Deployment-owned ReplicaSet's record, with the replica annotations
// of the Deployment's current size.
func (r *Local) putRS(ctx context.Context, d *manifest.Deployment, rs *RS) error {
	if rs.RS.Annotations == nil {
		rs.RS.Annotations = map[string]string{}
	}
	desired, max := int(*d.Spec.Replicas), int(*d.Spec.Replicas)+MaxSurge(StrategyOf(d))
	if ReplicasAnnotationsNeedUpdate(rs.RS.Annotations, desired, max) {
		rs.RS.Annotations[DesiredReplicasAnnotation] = strconv.Itoa(desired)
		rs.RS.Annotations[MaxReplicasAnnotation] = strconv.Itoa(max)
	}
	extra := map[string]string{backend.LabelOwnerKind: rs.Owner.Kind, backend.LabelOwner: rs.Owner.Name,
		backend.LabelHash: rs.RS.Spec.Template.Labels[HashLabel], backend.LabelRevision: rs.RS.Annotations[RevisionAnnotation]}
	data, err := json.Marshal(rs.RS)
	if err != nil {
		return err
	}
	rec := r.record("ReplicaSet", &rs.RS.ObjectMeta, data, rs.Commit, extra, rs.Created)
	if err := r.Backend.PutRecord(ctx, rec); err != nil {
		return fmt.Errorf("save replicaset %s: %w", rs.RS.Name, err)
	}
	rs.record = rec
	return nil
}

// scale sets a ReplicaSet's spec.replicas and says so as Kubernetes does.
func (r *Local) scale(ctx context.Context, d *manifest.Deployment, rs *RS, n int) error {
	r.actions.Add(1)
	from := rs.Replicas()
	*rs.RS.Spec.Replicas = int32(n)
	if err := r.putRS(ctx, d, rs); err != nil {
		return err
	}
	dir := "up"
	if n < from {
		dir = "down"
	}
	r.event(controllerName(d), "ScalingReplicaSet", "Scaled %s replica set %s to %d from %d", dir, rs.RS.Name, n, from)
	return nil
}

// cleanupHistory is cleanupDeployment: beyond revisionHistoryLimit, the old
// ReplicaSets of the lowest revisions are deleted if they are empty; one that still has
// pods keeps its slot.
func (r *Local) cleanupHistory(ctx context.Context, d *manifest.Deployment, old []*RS) error {
	limit := d.Spec.RevisionHistoryLimit
	if limit == nil || *limit == math.MaxInt32 {
		return nil
	}
	views := make([]HistoryRS, len(old))
	byName := map[string]*RS{}
	for i, rs := range old {
		views[i] = HistoryRS{Name: rs.RS.Name, Revision: rs.RS.Annotations[RevisionAnnotation], Created: rs.Created,
			SpecReplicas: rs.Replicas(), StatusReplicas: len(rs.Pods) + rs.Expected}
		byName[rs.RS.Name] = rs
	}
	for _, name := range CleanupOrder(views, int(*limit)) {
		if err := r.Backend.DeleteRecord(ctx, byName[name].record); err != nil {
			return err
		}
		r.event(controllerName(d), "DeletedReplicaSet", "Deleted old replica set %s (revisionHistoryLimit %d)", name, *limit)
	}
	return nil
}

// HistoryRS is an old ReplicaSet as cleanupDeployment sees it.
type HistoryRS struct {
	Name                         string
	Revision                     string
	Created                      time.Time
	SpecReplicas, StatusReplicas int
}

// CleanupOrder returns the old ReplicaSets to delete to keep limit of them: sorted by
// revision (then creation, then name), the first count-limit, skipping non-empty ones.
func CleanupOrder(old []HistoryRS, limit int) []string {
	diff := len(old) - limit
	if diff <= 0 {
		return nil
	}
	sorted := append([]HistoryRS{}, old...)
	sort.SliceStable(sorted, func(i, j int) bool {
		ri, ei := strconv.ParseInt(sorted[i].Revision, 10, 64)
		rj, ej := strconv.ParseInt(sorted[j].Revision, 10, 64)
		if sorted[i].Revision == "" {
			ri, ei = 0, nil
		}
		if sorted[j].Revision == "" {
			rj, ej = 0, nil
		}
		if ei == nil && ej == nil && ri != rj {
			return ri < rj
		}
		if !sorted[i].Created.Equal(sorted[j].Created) {
			return sorted[i].Created.Before(sorted[j].Created)
		}
		return sorted[i].Name < sorted[j].Name
	})
	var out []string
	for _, rs := range sorted[:diff] {
		if rs.SpecReplicas == 0 && rs.StatusReplicas == 0 {
			out = append(out, rs.Name)
		}
	}
	return out
}

func sortedApplied(st *State) []*Object {
	out := make([]*Object, 0, len(st.Objects))
	for _, a := range st.Objects {
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
func (r *Local) pending(st *State) string {
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
				if !c.Ready && c.Message != "" {
					why = append(why, fmt.Sprintf("%s/%s: %s", p.Name, c.Name, c.Message))
				}
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

// RevisionHistoryAnnotation lists the revisions a re-used ReplicaSet had before.
const RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"

// maxRevisionHistoryChars caps revision-history, as the controller does.
const maxRevisionHistoryChars = 2000

// SetRevision gives an annotation set a new revision; a revision it had before is
// appended to revision-history, oldest entries dropped to stay within limit characters.
func SetRevision(ann map[string]string, revision string, limit int) {
	old, had := ann[RevisionAnnotation]
	if had && old != revision && old != "" {
		var hist []string
		if h := ann[RevisionHistoryAnnotation]; h != "" {
			hist = strings.Split(h, ",")
		}
		hist = append(hist, old)
		for len(hist) > 0 && len(strings.Join(hist, ",")) > limit {
			hist = hist[1:]
		}
		if len(hist) > 0 {
			ann[RevisionHistoryAnnotation] = strings.Join(hist, ",")
		}
	}
	ann[RevisionAnnotation] = revision
}

// History lists a Deployment's revisions, oldest first, from its ReplicaSets.
func History(st *State, k manifest.Key) []reconcile.Revision {
	a := st.Objects[k]
	var d *manifest.Deployment
	if a != nil {
		d, _ = a.Object.(*manifest.Deployment)
	}
	var out []reconcile.Revision
	for _, rs := range st.Owned(k) {
		rev := reconcile.Revision{Number: rs.Revision(), Commit: rs.Commit, Applied: rs.Created, RS: rs.RS.Name, Template: *stripHash(&rs.RS.Spec.Template)}
		rev.Current = d != nil && equalIgnoreHash(&rs.RS.Spec.Template, &d.Spec.Template)
		rev.LastComplete = a != nil && a.Progress.LastCompleteHash != "" && rs.RS.Spec.Template.Labels[HashLabel] == a.Progress.LastCompleteHash
		out = append(out, rev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}
