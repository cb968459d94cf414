// Package controller holds kgit's own controllers (Deployment, ReplicaSet, StatefulSet,
// DaemonSet, bare Pods, Services' variables) and Local, the target that runs them over a
// pod runtime (backend.Backend: process, docker, memory). Only the local target uses it:
// a cluster's own controllers roll there.
package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// Local is the target that runs an app with kgit's own controllers on a backend that
// runs pods. It keeps, for the life of one command, the deletions it has under way.
type Local struct {
	Backend backend.Backend
	reconcile.Emitter
	// Progress, when set, is told each Deployment's status as it changes.
	Progress reconcile.ProgressSink
	Poll     time.Duration // how often to observe while waiting; default 100ms
	// Schedulers, when set, runs each CronJob's scheduler (a host process).
	Schedulers Schedulers

	mu       sync.Mutex
	deleting map[string]bool                 // pods being deleted in the background, by backend ID
	names    map[string]int                  // the same pods by namespace/name: a name is free once they are gone
	deleted  map[string]time.Time            // pods this process deleted (see podKey), and when
	creating map[string]map[string]time.Time // pods created in the background, by RS then pod (namespace/name): when each was made (zero: under way)
	failed   []error                         // background creations that failed, for the next pass
	seen     map[string]bool                 // pod conditions already reported as events
	hpaAt    map[manifest.Key]time.Time      // when each autoscaler was last evaluated
	routes   []*backend.Service              // every Service's route, for new pods' variables and hosts
	wg       sync.WaitGroup
	errs     []error
	actions  atomic.Int64 // changes the controllers made: scales, creations, deletions
}

// New returns the local target of app ("" for read-only use across every app) on b.
func New(b backend.Backend, app string, events reconcile.EventSink, progress reconcile.ProgressSink) *Local {
	return &Local{Backend: b, Emitter: reconcile.Emitter{Sink: events, App: app}, Progress: progress}
}

var _ reconcile.Target = (*Local)(nil)

// Name implements reconcile.Target.
func (r *Local) Name() string { return r.Backend.Name() }

func (r *Local) now() time.Time { return r.Time() }

func (r *Local) event(obj, reason, format string, args ...any) {
	r.Emit(obj, reason, format, args...)
}

// Load implements reconcile.Target.
func (r *Local) Load(ctx context.Context) (reconcile.Live, error) {
	return Load(ctx, r.Backend, r.App)
}

// Lock implements reconcile.Target: the backend's lock of the app.
func (r *Local) Lock(ctx context.Context, wait time.Duration) (func(), error) {
	return r.Backend.Lock(ctx, r.App, wait)
}

// History implements reconcile.Target: a Deployment's revisions from its ReplicaSets.
func (r *Local) History(live reconcile.Live, k manifest.Key) []reconcile.Revision {
	return History(live.(*State), k)
}

// record builds the backend record of an object.
func (r *Local) record(kind string, meta *manifest.ObjectMeta, data []byte, commit string, extra map[string]string, created time.Time) backend.Record {
	labels := map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: r.App,
		backend.LabelNamespace: meta.Namespace, backend.LabelCommit: commit}
	maps.Copy(labels, extra)
	if created.IsZero() {
		created = r.now().UTC()
	}
	return backend.Record{Kind: kind, Namespace: meta.Namespace, Name: meta.Name, Labels: labels, Created: created, Data: data}
}

// Apply implements reconcile.Target: it writes the object's record, keeping its status;
// a changed bare Pod is replaced, since pods are immutable.
func (r *Local) Apply(ctx context.Context, live reconcile.Live, a *reconcile.Applied) error {
	st := live.(*State)
	t, meta := manifest.MetaOf(a.Object)
	rec := r.record(t.Kind, meta, a.Data, a.Commit, nil, a.Created)
	old := st.Objects[a.Key]
	if old != nil {
		rec.Status = old.record.Status
	}
	if err := r.Backend.PutRecord(ctx, rec); err != nil {
		return err
	}
	obj := &Object{Applied: *a, record: rec}
	if old != nil {
		obj.Progress = old.Progress
	}
	st.put(obj)
	if old != nil && a.Key.Kind == "Pod" {
		for _, p := range st.PodsOf(a.Key) {
			r.deletePod(ctx, p, "Killing", "Stopping pod %s: its spec changed", p.Name)
		}
	}
	return nil
}

// Prune implements reconcile.Target: it removes an object that left git, with
// everything it owns.
func (r *Local) Prune(ctx context.Context, live reconcile.Live, a *reconcile.Applied) error {
	st := live.(*State)
	obj := st.Objects[a.Key]
	for _, rs := range st.Owned(a.Key) {
		for _, p := range rs.Pods {
			r.deletePod(ctx, p, "Killing", "Stopping pod %s: its owner %s was pruned", p.Name, reconcile.ObjectName(a.Key))
		}
		if rs.record.Labels[backend.LabelOwnerKind] == "Deployment" {
			if err := r.Backend.DeleteRecord(ctx, rs.record); err != nil {
				return err
			}
		}
	}
	for _, p := range st.PodsOf(a.Key) {
		r.deletePod(ctx, p, "Killing", "Stopping pod %s: pruned", p.Name)
	}
	if err := r.WaitDeletes(); err != nil {
		return err
	}
	if a.Key.Kind == cronJobOwnerKind {
		if err := r.pruneCronJob(ctx, st, a.Key); err != nil {
			return err
		}
	}
	if c, ok := r.Backend.(backend.ClaimRemover); ok && a.Key.Kind == "PersistentVolumeClaim" {
		if err := c.RemoveClaim(ctx, a.Key.Namespace, a.Key.Name); err != nil {
			return err
		}
	}
	if err := r.unroute(ctx, a.Key); err != nil {
		return err
	}
	return r.Backend.DeleteRecord(ctx, obj.record)
}

// maxQuickPasses bounds the passes in a row that Converge runs without polling.
const maxQuickPasses = 2

// startingFor is how long after its creation a pod still pending counts as starting,
// and has Converge poll four times as often: long enough for a host process or a
// container to start, short enough that a pod held pending (an init container at
// work, an image being pulled) is polled at the usual pace.
const startingFor = 250 * time.Millisecond

// starting reports whether a pod of st was created moments ago and is still pending.
func (r *Local) starting(st *State) bool {
	now := r.now()
	for _, p := range st.Pods {
		if p.Status.Phase == backend.PodPending && !p.Status.Terminating && now.Sub(p.Created) < startingFor {
			return true
		}
	}
	return false
}

// Converge implements reconcile.Target: it runs the controllers until nothing is left
// to do, then waits for the background deletions. With live, the first pass runs on it,
// which is still what the backend holds (a sync that changed no record: the common cron
// case costs one load).
func (r *Local) Converge(ctx context.Context, live reconcile.Live) error {
	st, _ := live.(*State)
	reuse := st != nil
	poll := r.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	routed := false
	quick := 0 // passes in a row that followed the one before without a poll
	for {
		var err error
		if !reuse {
			if st, err = Load(ctx, r.Backend, r.App); err != nil {
				return err
			}
		}
		if !routed {
			if err := r.routeServices(ctx, st); err != nil {
				return err
			}
			if err := r.routeIngresses(ctx, st); err != nil {
				return err
			}
			if err := r.ensureSchedulers(ctx, st); err != nil {
				return err
			}
			routed = true
		}
		reuse = false
		acted := r.actions.Load()
		done, err := r.Step(ctx, st)
		if err != nil {
			_ = r.WaitDeletes()
			return err
		}
		if done {
			return r.WaitDeletes()
		}
		wait := poll
		if r.actions.Load() != acted && quick < maxQuickPasses {
			// A pass that changed something is followed at once by another, as
			// Kubernetes' controllers react to their own changes' events: a rolling
			// update scales the old ReplicaSet down in one pass and the new one up in
			// the next, and a poll between the two is a wait every wave pays. A few in
			// a row at most, so that a pass that acts each time still polls.
			wait, quick = 0, quick+1
		} else {
			quick = 0
			if r.starting(st) {
				// A pod just created is about to start: looked at sooner, the sync that
				// waits for it ends sooner (0 to 100 pods waited a whole poll for the last).
				wait = poll / 4
			}
		}
		select {
		case <-ctx.Done():
			_ = r.WaitDeletes()
			return fmt.Errorf("%w: %s", reconcile.ErrTimeout, r.pending(st))
		case <-time.After(wait):
		}
	}
}

// Step is one pass of every controller over an observed state. It reports whether the
// app has converged (every object at its desired size, every pod ready), or a
// *RolloutError once nothing is progressing and some rollout has failed (a
// *reconcile.JobError for failed Jobs; both, joined, when both failed).
func (r *Local) Step(ctx context.Context, st *State) (bool, error) {
	r.settle(st)
	if err := r.failedCreates(); err != nil {
		return false, err
	}
	converged := true
	var failed []string
	var failedKeys []manifest.Key
	var jobFailures []string
	var failedJobs []manifest.Key
	for _, p := range st.Orphans {
		r.deletePod(ctx, p, "Killing", "Stopping orphan pod %s: no owner", p.Name)
		converged = false
	}
	r.reportPodConditions(st.Pods)
	if err := r.tend(ctx, st.Pods); err != nil {
		return false, err
	}
	if err := r.syncAutoscalers(ctx, st); err != nil {
		return false, err
	}
	inProgress := false
	for _, a := range sortedApplied(st) {
		switch obj := a.Object.(type) {
		case *manifest.Deployment, *manifest.DaemonSet:
			d, ok := obj.(*manifest.Deployment)
			if !ok {
				d = AsDeployment(obj.(*manifest.DaemonSet))
			} else {
				d = autoscaled(st, a.Key, d, func(d *manifest.Deployment) **int32 { return &d.Spec.Replicas })
				if d != obj {
					a.autoscaled = d.Spec.Replicas
				}
			}
			state, err := r.syncDeployment(ctx, st, a, d)
			if err != nil {
				return false, err
			}
			switch state {
			case rolloutFailed:
				failed = append(failed, r.failure(st, a, d))
				failedKeys = append(failedKeys, a.Key)
			case rolloutInProgress:
				inProgress = true
			}
			converged = converged && state == rolloutComplete
		case *manifest.StatefulSet:
			obj = autoscaled(st, a.Key, obj, func(ss *manifest.StatefulSet) **int32 { return &ss.Spec.Replicas })
			ok, err := r.syncStatefulSet(ctx, st, a, obj)
			if err != nil {
				return false, err
			}
			converged = converged && ok
			inProgress = inProgress || !ok
		case *manifest.Job:
			if madeByCronJob(a) {
				continue // its CronJob's scheduler runs it; a sync does not wait for it
			}
			res, err := r.syncJob(ctx, st, a, obj)
			if err != nil {
				return false, err
			}
			if res.failure != "" {
				jobFailures = append(jobFailures, res.failure)
				failedJobs = append(failedJobs, a.Key)
			}
			converged = converged && res.done
			inProgress = inProgress || !res.done && res.failure == ""
		case *manifest.Pod:
			ok, err := r.syncPod(ctx, st, a, obj)
			if err != nil {
				return false, err
			}
			converged = converged && ok
			inProgress = inProgress || !ok
		}
	}
	for _, rs := range sortedRS(st) {
		owner := st.Objects[rs.Owner]
		if owner == nil {
			// Its Deployment is gone (a crash between two deletions): collect it.
			for _, p := range rs.Pods {
				r.deletePod(ctx, p, "Killing", "Stopping pod %s: its owner is gone", p.Name)
			}
			if len(rs.Pods) == 0 {
				if err := r.Backend.DeleteRecord(ctx, rs.record); err != nil {
					return false, err
				}
			}
			converged = false
			continue
		}
		ok, err := r.syncReplicaSet(ctx, st, rs)
		if err != nil {
			return false, err
		}
		converged = converged && ok
		if _, bare := owner.Object.(*manifest.ReplicaSet); bare && !ok {
			inProgress = true
		}
	}
	if (len(failed) > 0 || len(jobFailures) > 0) && !inProgress {
		var errs []error
		if len(failed) > 0 {
			errs = append(errs, &reconcile.RolloutError{Deployments: failedKeys, Failures: failed})
		}
		if len(jobFailures) > 0 {
			errs = append(errs, &reconcile.JobError{Jobs: failedJobs, Failures: jobFailures})
		}
		return false, errors.Join(errs...)
	}
	return converged && r.underWay() == 0, nil
}

// failure describes a failed rollout: the deadline, and the new pods that are not
// available with their reasons.
func (r *Local) failure(st *State, a *Object, d *manifest.Deployment) string {
	msg := fmt.Sprintf("deployment %q exceeded its progress deadline (%ds)", d.Name, *d.Spec.ProgressDeadlineSeconds)
	if s := st.StatusOf(a.Key, d, r.now()); s.NewRS != nil {
		msg += fmt.Sprintf(": %d of %d updated pods available%s", s.NewRS.Counts(r.now()).Available, *d.Spec.Replicas, whyNotReady(s.NewRS.Pods))
	}
	return msg
}

// syncPod keeps a bare Pod's pod running: created when missing, replaced when it failed.
func (r *Local) syncPod(ctx context.Context, st *State, a *Object, pod *manifest.Pod) (bool, error) {
	pods := r.live(st.PodsOf(a.Key))
	for _, p := range pods {
		if p.Status.Terminating || p.Status.Phase == backend.PodFailed && (p.Status.Reason == "SupervisorLost" || p.Status.Reason == "Stopped") {
			r.deleteInactive(ctx, p)
			return false, nil
		}
	}
	if len(pods) == 0 {
		if r.nameDeleting(pod.Namespace, pod.Name) {
			return false, nil
		}
		labels := r.podLabels(pod.Labels, a.Key.Namespace, "Pod", pod.Name, "", "", a.Commit)
		resolved, err := st.resolve(pod.Namespace, &pod.Spec)
		if err != nil {
			return false, fmt.Errorf("%s: %w", reconcile.ObjectName(a.Key), err)
		}
		if err := r.createPod(ctx, reconcile.ObjectName(a.Key), backend.PodSpec{Name: pod.Name, Namespace: pod.Namespace, Labels: labels, Annotations: pod.Annotations, Spec: pod.Spec}.WithValues(resolved)); err != nil {
			return false, err
		}
		return false, nil
	}
	p := pods[0]
	return p.Status.Ready || p.Status.Phase == backend.PodSucceeded || p.Status.Phase == backend.PodFailed && pod.Spec.RestartPolicy != "Always", nil
}

// podLabels are a pod's labels: its template's, plus kgit's.
func (r *Local) podLabels(template map[string]string, ns, ownerKind, owner, hash, revision, commit string) map[string]string {
	l := maps.Clone(template)
	if l == nil {
		l = map[string]string{}
	}
	l[backend.LabelManagedBy] = backend.ManagedBy
	l[backend.LabelApp] = r.App
	l[backend.LabelNamespace] = ns
	l[backend.LabelOwnerKind] = ownerKind
	l[backend.LabelOwner] = owner
	l[backend.LabelCommit] = commit
	if hash != "" {
		l[backend.LabelHash] = hash
	}
	if revision != "" {
		l[backend.LabelRevision] = revision
	}
	return l
}

// syncReplicaSet is the ReplicaSet controller: it deletes finished pods and creates or
// deletes pods until the RS has spec.replicas active ones.
func (r *Local) syncReplicaSet(ctx context.Context, st *State, rs *RS) (bool, error) {
	var active []*backend.Pod
	for _, p := range r.live(rs.Pods) {
		if p.Status.Active() {
			active = append(active, p)
		} else {
			r.deleteInactive(ctx, p)
		}
	}
	want := rs.Replicas()
	switch diff := len(active) + rs.Expected - want; {
	case diff < 0:
		return false, r.createPods(ctx, st, rs, -diff)
	case diff > 0 && rs.Expected > 0:
		return false, nil // as Kubernetes does, no deletions until its creations are seen
	case diff > 0:
		ranked := make([]rankedPod, len(active))
		for i, p := range active {
			ranked[i] = rankedPod{Pod: p, Rank: len(active), Unassigned: p.Status.Phase == backend.PodPending && p.Status.StartTime.IsZero()}
		}
		SortForDeletion(ranked, r.now(), Gates{DeletionCost: true, LogarithmicScaleDown: true})
		for _, rp := range ranked[:diff] {
			r.deletePodBy(ctx, rp.Pod, reconcile.ObjectName(manifest.Key{Kind: "ReplicaSet", Name: rs.RS.Name}), "SuccessfulDelete", "Deleted pod: %s", rp.Pod.Name)
		}
		return false, nil
	}
	c := Count(active, rs.RS.Spec.MinReadySeconds, r.now())
	return c.Ready == want && rs.Expected == 0, nil
}

// deleteInactive removes a pod that no longer counts: finished, lost, or left half
// stopped by an interrupted deletion.
func (r *Local) deleteInactive(ctx context.Context, p *backend.Pod) {
	switch {
	case p.Status.Terminating:
		r.deletePod(ctx, p, "Killing", "Stopping pod %s: finishing an interrupted deletion", p.Name)
	case p.Status.Message != "":
		r.deletePod(ctx, p, "Killing", "Stopping pod %s: %s", p.Name, p.Status.Message)
	default:
		r.deletePod(ctx, p, "Killing", "Stopping pod %s: it is %s (%s)", p.Name, p.Status.Phase, p.Status.Reason)
	}
}

// createPods starts the creation of n pods of a ReplicaSet in the background, as
// Kubernetes' ReplicaSet controller does: the pass goes on (another Deployment's step, an
// old set's scale-down) while they start, and each counts in rs.Expected until a listing
// shows it. A creation that fails fails the next pass.
func (r *Local) createPods(ctx context.Context, st *State, rs *RS, n int) error {
	t := rs.RS.Spec.Template
	resolved, err := st.resolve(rs.RS.Namespace, &t.Spec)
	if err != nil {
		return fmt.Errorf("%s: %w", reconcile.ObjectName(manifest.Key{Kind: "ReplicaSet", Name: rs.RS.Name}), err)
	}
	ownerKind, owner := "ReplicaSet", rs.RS.Name
	if rs.Owner.Kind == "Deployment" || rs.Owner.Kind == "DaemonSet" {
		ownerKind, owner = rs.Owner.Kind, rs.Owner.Name
	}
	labels := r.podLabels(t.Labels, rs.RS.Namespace, ownerKind, owner, t.Labels[HashLabel], rs.RS.Annotations[RevisionAnnotation], rs.Commit)
	rsName := reconcile.ObjectName(manifest.Key{Kind: "ReplicaSet", Name: rs.RS.Name})
	key := rs.RS.Namespace + "/" + rs.RS.Name
	bg := context.WithoutCancel(ctx) // a creation under way finishes, as a deletion does
	for range n {
		spec := backend.PodSpec{Name: PodName(rs.RS.Name), Namespace: rs.RS.Namespace, Labels: labels, Annotations: t.Annotations, Spec: t.Spec}.WithValues(resolved)
		pod := spec.Namespace + "/" + spec.Name
		r.mu.Lock()
		if r.creating == nil {
			r.creating = map[string]map[string]time.Time{}
		}
		if r.creating[key] == nil {
			r.creating[key] = map[string]time.Time{}
		}
		r.creating[key][pod] = time.Time{}
		r.mu.Unlock()
		rs.Expected++
		r.actions.Add(1) // counted in the pass that decided it, not when it is done
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			err := r.startPod(bg, rsName, spec)
			r.mu.Lock()
			defer r.mu.Unlock()
			if err != nil {
				delete(r.creating[key], pod)
				r.failed = append(r.failed, err)
				return
			}
			r.creating[key][pod] = time.Now()
		}()
	}
	return nil
}

// failedCreates returns, once, the background creations that failed.
func (r *Local) failedCreates() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := errors.Join(r.failed...)
	r.failed = nil
	return err
}

func (r *Local) createPod(ctx context.Context, owner string, spec backend.PodSpec) error {
	r.actions.Add(1)
	return r.startPod(ctx, owner, spec)
}

// startPod is createPod without counting the action (createPods counts its own).
func (r *Local) startPod(ctx context.Context, owner string, spec backend.PodSpec) error {
	env, hosts, err := r.serviceLinks(ctx, spec.Namespace, &spec.Spec)
	if err != nil {
		return err
	}
	spec.ServiceEnv, spec.Hosts = env, hosts
	if _, err := r.Backend.CreatePod(ctx, spec); err != nil {
		r.event(owner, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pod %s: %w", spec.Name, err)
	}
	r.event(owner, "SuccessfulCreate", "Created pod: %s", spec.Name)
	return nil
}

// deletePod stops a pod in the background, with its grace period; the pod stops
// counting as active at once, as a terminating pod does in Kubernetes.
func (r *Local) deletePod(ctx context.Context, p *backend.Pod, reason, format string, args ...any) {
	r.deletePodBy(ctx, p, "pod/"+p.Name, reason, format, args...)
}

// deletePodBy is deletePod with the event reported against obj (the pod's owner).
func (r *Local) deletePodBy(ctx context.Context, p *backend.Pod, obj, reason, format string, args ...any) {
	r.mu.Lock()
	if r.deleting == nil {
		r.deleting, r.names = map[string]bool{}, map[string]int{}
	}
	if r.deleting[p.ID] {
		r.mu.Unlock()
		return
	}
	r.deleting[p.ID] = true
	r.names[p.Namespace+"/"+p.Name]++
	r.mu.Unlock()
	r.actions.Add(1) // not before: a pass that asks again for a deletion under way did nothing
	// The pod stops counting at once, as a deletionTimestamp makes it in Kubernetes: for
	// this pass, and for whoever looks at the backend, which marks it if it can.
	p.Status.Terminating = true
	if t, ok := backend.TerminatorOf(r.Backend); ok {
		_ = t.MarkTerminating(ctx, p.ID) // the stop below marks it anyway, later
	}
	r.event(obj, reason, format, args...)
	grace := time.Duration(manifest.DefaultTerminationGracePeriodSeconds) * time.Second
	if g := p.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := r.Backend.DeletePod(context.WithoutCancel(ctx), p.ID, grace)
		r.mu.Lock()
		delete(r.deleting, p.ID)
		if r.names[p.Namespace+"/"+p.Name]--; r.names[p.Namespace+"/"+p.Name] <= 0 {
			delete(r.names, p.Namespace+"/"+p.Name)
		}
		if err == nil {
			if r.deleted == nil {
				r.deleted = map[string]time.Time{}
			}
			r.deleted[podKey(p)] = time.Now()
		}
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("delete pod %s: %w", p.Name, err))
		}
		r.mu.Unlock()
	}()
}

// nameDeleting reports whether a pod of that name is still being deleted: its name is
// not free yet (backends key pods their own way; the name is what Kubernetes keys by).
func (r *Local) nameDeleting(ns, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.names[ns+"/"+name] > 0
}

func (r *Local) isDeleting(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deleting[id]
}

// underWay counts the deletions and creations under way or not yet seen.
func (r *Local) underWay() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.deleting)
	for _, pods := range r.creating {
		n += len(pods)
	}
	return n
}

// staleListing bounds how old a listing of pods can be: a pod deleted longer ago than
// that is no longer remembered.
const staleListing = time.Minute

// podKey names one pod instance: its UID (else its ID and creation time), as a
// StatefulSet's pod of the same name created later is another pod.
func podKey(p *backend.Pod) string {
	if p.UID != "" {
		return p.UID
	}
	return p.ID + "@" + p.Created.Format(time.RFC3339Nano)
}

// settle makes an observation agree with the deletions this process has made: a pod
// being deleted counts as terminating, as a deletionTimestamp makes it in Kubernetes,
// and a pod whose deletion has finished is gone, even from a listing taken before it
// finished (counted as active, it would have a controller delete a pod too many).
func (r *Local) settle(st *State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, at := range r.deleted {
		if time.Since(at) > staleListing {
			delete(r.deleted, k)
		}
	}
	if len(r.deleting) > 0 {
		for _, p := range st.Pods {
			if r.deleting[p.ID] {
				p.Status.Terminating = true
			}
		}
	}
	if len(r.deleted) > 0 { // a sync that deleted nothing copies no listing
		st.dropPods(func(p *backend.Pod) bool { _, gone := r.deleted[podKey(p)]; return gone })
	}
	r.expect(st)
}

// expect counts into each RS the pods it is creating and those it created that the
// listing does not show yet. A pod whose creation is under way is left out of the
// listing (it may show half made) and counted; a created pod that a listing begun after
// its creation does not show is gone, and no longer expected.
func (r *Local) expect(st *State) {
	if len(r.creating) == 0 {
		return
	}
	listed := map[string]bool{}
	for _, p := range st.Pods {
		listed[p.Namespace+"/"+p.Name] = true
	}
	underWay := map[string]bool{}
	for key, pods := range r.creating {
		rs := st.ReplicaSets[key]
		for pod, made := range pods {
			switch {
			case made.IsZero():
				underWay[pod] = true
			case listed[pod] || made.Before(st.Listed):
				delete(pods, pod)
				continue
			}
			if rs != nil {
				rs.Expected++
			}
		}
		if len(pods) == 0 {
			delete(r.creating, key)
		}
	}
	if len(underWay) > 0 {
		st.dropPods(func(p *backend.Pod) bool { return underWay[p.Namespace+"/"+p.Name] })
	}
}

// live drops pods that are being deleted, or whose deletion this process finished.
func (r *Local) live(pods []*backend.Pod) []*backend.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*backend.Pod, 0, len(pods))
	for _, p := range pods {
		// A deletion that finished after this pass's settle still counts: asked for
		// again, the pod would be "an interrupted deletion", stopped a second time.
		if _, gone := r.deleted[podKey(p)]; !r.deleting[p.ID] && !gone {
			out = append(out, p)
		}
	}
	return out
}

// WaitDeletes waits for the background deletions and creations and returns their
// errors.
func (r *Local) WaitDeletes() error {
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	err := errors.Join(append(r.errs, r.failed...)...)
	r.errs, r.failed = nil, nil
	return err
}

// Down removes every pod and record of the app. When ctx ends while pods are still
// stopping, it returns with their records kept, so that the next Down finishes.
func (r *Local) Down(ctx context.Context) error {
	st, err := Load(ctx, r.Backend, r.App)
	if err != nil {
		return err
	}
	for _, a := range st.Objects {
		if _, ok := a.Object.(*manifest.CronJob); ok && r.Schedulers != nil {
			r.Schedulers.Stop(r.App, a.Key) // before its pods go: it would start more
		}
	}
	for _, p := range st.Pods {
		r.deletePod(ctx, p, "Killing", "Stopping pod %s", p.Name)
	}
	// The deletions run to their end whatever ctx does (see deletePod); only the wait
	// for them ends with ctx (kgit down --timeout), and a later Down finishes them.
	waited := make(chan error, 1)
	go func() { waited <- r.WaitDeletes() }()
	select {
	case err := <-waited:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		select {
		case err := <-waited: // they finished as ctx ended: what is left is quick
			if err != nil {
				return err
			}
			return r.downRecords(context.WithoutCancel(ctx), st)
		default:
		}
		r.mu.Lock()
		names := slices.Sorted(maps.Keys(r.names))
		r.mu.Unlock()
		return fmt.Errorf("still stopping: pod %s: %w", strings.Join(names, ", pod "), context.Cause(ctx))
	}
	return r.downRecords(ctx, st)
}

// downRecords removes the records of an app whose pods are gone, and its Ingresses.
func (r *Local) downRecords(ctx context.Context, st *State) error {
	for _, rs := range st.ReplicaSets {
		if err := r.Backend.DeleteRecord(ctx, rs.record); err != nil {
			return err
		}
	}
	for _, a := range sortedApplied(st) {
		if err := r.unroute(ctx, a.Key); err != nil {
			return err
		}
		if err := r.Backend.DeleteRecord(ctx, a.record); err != nil {
			return err
		}
		r.event(reconcile.ObjectName(a.Key), "Pruned", "%s deleted", reconcile.ObjectName(a.Key))
	}
	return r.routeIngresses(ctx, &State{Objects: map[manifest.Key]*Object{}})
}

// reportPodConditions turns what the pods report into the kubelet's events, once each:
// BackOff for a container waiting to restart, Unhealthy for a failing probe,
// FailedPostStartHook for a postStart hook that failed.
func (r *Local) reportPodConditions(pods []*backend.Pod) {
	for _, p := range pods {
		for _, c := range p.Status.Containers {
			if msg, started := postStartFailure(&c); msg != "" {
				r.eventOnce(fmt.Sprintf("%s/%s/poststart/%d", p.UID, c.Name, started.UnixNano()), "pod/"+p.Name, "FailedPostStartHook", strings.TrimPrefix(msg, backend.PostStartHookError))
			}
			var key, reason, msg string
			switch {
			case c.Reason == "CrashLoopBackOff":
				key = fmt.Sprintf("%s/%s/backoff/%d", p.UID, c.Name, c.RestartCount)
				reason, msg = "BackOff", fmt.Sprintf("Back-off restarting failed container %s in pod %s", c.Name, p.Name)
			case strings.Contains(c.Message, "probe failed"):
				key = fmt.Sprintf("%s/%s/unhealthy/%d/%s", p.UID, c.Name, c.RestartCount, c.Message)
				reason, msg = "Unhealthy", c.Message
			default:
				continue
			}
			r.eventOnce(key, "pod/"+p.Name, reason, msg)
		}
	}
}

// eventOnce records an event the first time its key is seen.
func (r *Local) eventOnce(key, obj, reason, msg string) {
	r.mu.Lock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	fresh := !r.seen[key]
	r.seen[key] = true
	r.mu.Unlock()
	if fresh {
		r.event(obj, reason, "%s", msg)
	}
}

// postStartFailure is the message of a container instance whose postStart hook failed
// (while it is being killed, or after), and when that instance started.
func postStartFailure(c *backend.ContainerStatus) (string, time.Time) {
	if t := c.LastTermination; t != nil && strings.HasPrefix(t.Message, backend.PostStartHookError) {
		return t.Message, t.StartedAt
	}
	if strings.HasPrefix(c.Message, backend.PostStartHookError) {
		return c.Message, c.StartedAt
	}
	return "", time.Time{}
}

// tend has a backend whose runtime does not do all of the kubelet's work do the rest for
// every pod that is kept: restart what a liveness probe failed, start again what was
// stopped behind kgit's back.
func (r *Local) tend(ctx context.Context, pods []*backend.Pod) error {
	t, ok := backend.TenderOf(r.Backend)
	if !ok {
		return nil
	}
	var errs []error
	for _, p := range r.live(pods) {
		if p.Status.Active() {
			errs = append(errs, t.Tend(ctx, p))
		}
	}
	return errors.Join(errs...)
}
