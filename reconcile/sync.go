package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// ErrEmptyDesired refuses to prune everything: the manifests produced no object while
// the backend runs objects of the app.
var ErrEmptyDesired = errors.New("the manifests hold no object but the app runs some: refusing to delete everything without --allow-empty")

// ErrTimeout is a sync that did not converge within --timeout.
var ErrTimeout = errors.New("timed out waiting for the app to converge")

// Reconciler converges one app on one backend.
type Reconciler struct {
	Backend backend.Backend
	App     string
	Events  EventSink
	// Progress, when set, is told each Deployment's status as it changes.
	Progress ProgressSink
	Poll     time.Duration    // how often to observe while waiting; default 100ms
	Now      func() time.Time // for tests

	mu       sync.Mutex
	deleting map[string]bool      // pod IDs being deleted in the background
	deleted  map[string]time.Time // pods this process deleted (see podKey), and when
	seen     map[string]bool      // pod conditions already reported as events
	applied  int                  // records a sync wrote
	routes   []*backend.Service   // every Service's route, for new pods' variables and hosts
	wg       sync.WaitGroup
	errs     []error
}

// SyncOptions are the choices of one sync.
type SyncOptions struct {
	Commit     string
	Prune      bool
	AllowEmpty bool
	// Force drops every override (rollbacks and scales made by hand).
	Force bool
	// AppRollback, when set, marks every object applied as a whole-app rollback to
	// Commit that holds until a sync of a commit other than AppRollback.Base.
	AppRollback *Override
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) event(obj, reason, format string, args ...any) {
	if r.Events != nil {
		r.Events.Event(Event{Time: r.now().UTC(), App: r.App, Object: obj, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
}

// Sync writes the desired objects' records, prunes what left git, and drives the
// controllers until every object has converged or ctx ends. Every step is recomputed
// from what the backend reports, so a sync killed at any point is finished by the next.
func (r *Reconciler) Sync(ctx context.Context, desired []*manifest.Object, opts SyncOptions) error {
	st, err := Load(ctx, r.Backend, r.App)
	if err != nil {
		return err
	}
	if len(desired) == 0 && opts.Prune && !opts.AllowEmpty && (len(st.Applied) > 0 || len(st.Pods) > 0) {
		return ErrEmptyDesired
	}
	if o, held := appRollback(st); held && o.Base == opts.Commit && !opts.Force && opts.AppRollback == nil {
		r.event("app/"+r.App, "OverrideKept", "app %s: kept rolled back to %.12s by an override until the branch moves past %.12s (--force drops it)", r.App, o.Target, o.Base)
		return r.Converge(ctx)
	}
	want := map[manifest.Key]*manifest.Object{}
	for _, o := range desired {
		if opts.AppRollback != nil {
			o = markAppRollback(o, *opts.AppRollback)
		}
		want[o.Key()] = o
		if err := r.apply(ctx, st, o, opts.Commit, opts.Force); err != nil {
			return err
		}
	}
	if opts.Prune {
		for k, a := range st.Applied {
			if _, ok := want[k]; !ok {
				if err := r.prune(ctx, st, a); err != nil {
					return err
				}
			}
		}
	}
	return r.converge(ctx, st, r.applied == 0)
}

// record builds the backend record of an object.
func (r *Reconciler) record(kind string, meta *manifest.ObjectMeta, obj any, commit string, extra map[string]string, created time.Time) (backend.Record, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return backend.Record{}, err
	}
	labels := map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: r.App,
		backend.LabelNamespace: meta.Namespace, backend.LabelCommit: commit}
	maps.Copy(labels, extra)
	if created.IsZero() {
		created = r.now().UTC()
	}
	return backend.Record{Kind: kind, Namespace: meta.Namespace, Name: meta.Name, Labels: labels, Created: created, Data: data}, nil
}

// apply writes an object's record when it is new or changed, unless an override on
// the live object holds; a changed bare Pod is replaced, since pods are immutable.
func (r *Reconciler) apply(ctx context.Context, st *State, o *manifest.Object, commit string, force bool) error {
	k := o.Key()
	t, meta := o.Meta()
	old := st.Applied[k]
	obj := o.Obj
	if old != nil {
		var kept string
		if obj, kept = keepOverride(old, o, commit, force); kept != "" {
			r.event(ObjectName(k), "OverrideKept", "%s", kept)
		}
		if obj != o.Obj {
			_, meta = metaOf(obj)
		}
	}
	if old != nil && sameObject(old.record.Data, obj) {
		return nil
	}
	var created time.Time
	if old != nil {
		created = old.Created
		if obj == old.Object {
			commit = old.Commit
		}
	}
	rec, err := r.record(t.Kind, meta, obj, commit, nil, created)
	if err != nil {
		return err
	}
	if old != nil {
		rec.Status = old.record.Status
	}
	if err := r.Backend.PutRecord(ctx, rec); err != nil {
		return fmt.Errorf("save %s: %w", k, err)
	}
	r.applied++
	verb := "created"
	if old != nil {
		verb = "configured"
	}
	r.event(ObjectName(k), "Applied", "%s %s", ObjectName(k), verb)
	if old != nil && k.Kind == "Pod" {
		for _, p := range st.PodsOf(k) {
			r.deletePod(ctx, p, "Killing", "Stopping pod %s: its spec changed", p.Name)
		}
	}
	return nil
}

// metaOf returns an object's TypeMeta and ObjectMeta.
func metaOf(obj any) (*manifest.TypeMeta, *manifest.ObjectMeta) {
	return (&manifest.Object{Obj: obj}).Meta()
}

// appRollback reports a whole-app rollback recorded on the app's objects.
func appRollback(st *State) (Override, bool) {
	for _, a := range st.Applied {
		_, meta := metaOf(a.Object)
		if o := OverrideOf(meta.Annotations); o.Kind == "app-rollback" {
			return o, true
		}
	}
	return Override{}, false
}

// markAppRollback returns a copy of o annotated as part of a whole-app rollback.
func markAppRollback(o *manifest.Object, ov Override) *manifest.Object {
	data, _ := json.Marshal(o.Obj)
	c := *o
	t, _ := o.Meta()
	c.Obj = manifest.New(t.Kind)
	_ = json.Unmarshal(data, c.Obj)
	_, meta := c.Meta()
	meta.Annotations = withOverride(meta.Annotations, ov)
	return &c
}

// sameObject reports whether obj is what a record holds.
func sameObject(recorded []byte, obj any) bool {
	j, _ := json.Marshal(obj)
	return string(j) == string(recorded)
}

// ObjectName is how kubectl names an object: deployment.apps/web, pod/web.
func ObjectName(k manifest.Key) string {
	switch k.Kind {
	case "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet":
		return strings.ToLower(k.Kind) + ".apps/" + k.Name
	}
	return k.String()
}

// prune removes an object that left git, with everything it owns.
func (r *Reconciler) prune(ctx context.Context, st *State, a *Applied) error {
	for _, rs := range st.Owned(a.Key) {
		for _, p := range rs.Pods {
			r.deletePod(ctx, p, "Killing", "Stopping pod %s: its owner %s was pruned", p.Name, ObjectName(a.Key))
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
	if err := r.unroute(ctx, a.Key); err != nil {
		return err
	}
	if err := r.Backend.DeleteRecord(ctx, a.record); err != nil {
		return err
	}
	r.applied++
	r.event(ObjectName(a.Key), "Pruned", "%s pruned", ObjectName(a.Key))
	return nil
}

// Converge runs the controllers until nothing is left to do, then waits for the
// background deletions.
func (r *Reconciler) Converge(ctx context.Context) error {
	return r.converge(ctx, nil, false)
}

// converge is Converge; with reuse, the first pass runs on st, which is still what the
// backend holds (a sync that changed no record: the common cron case costs one load).
func (r *Reconciler) converge(ctx context.Context, st *State, reuse bool) error {
	poll := r.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	routed := false
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
			routed = true
		}
		reuse = false
		done, err := r.Step(ctx, st)
		if err != nil {
			_ = r.WaitDeletes()
			return err
		}
		if done {
			return r.WaitDeletes()
		}
		select {
		case <-ctx.Done():
			_ = r.WaitDeletes()
			return fmt.Errorf("%w: %s", ErrTimeout, r.pending(st))
		case <-time.After(poll):
		}
	}
}

// RolloutError is a sync whose rollouts stopped progressing: the progress deadline of
// each named Deployment was exceeded.
type RolloutError struct {
	Deployments []manifest.Key
	Failures    []string // one line per Deployment: what is not available and why
}

func (e *RolloutError) Error() string {
	return "rollout failed: " + strings.Join(e.Failures, "; ")
}

// Step is one pass of every controller over an observed state. It reports whether the
// app has converged (every object at its desired size, every pod ready), or a
// *RolloutError once nothing is progressing and some rollout has failed.
func (r *Reconciler) Step(ctx context.Context, st *State) (bool, error) {
	r.settle(st)
	converged := true
	var failed []string
	var failedKeys []manifest.Key
	for _, p := range st.Orphans {
		r.deletePod(ctx, p, "Killing", "Stopping orphan pod %s: no owner", p.Name)
		converged = false
	}
	r.reportPodConditions(st.Pods)
	inProgress := false
	for _, a := range sortedApplied(st) {
		switch obj := a.Object.(type) {
		case *manifest.Deployment, *manifest.DaemonSet:
			d, ok := obj.(*manifest.Deployment)
			if !ok {
				d = AsDeployment(obj.(*manifest.DaemonSet))
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
			ok, err := r.syncStatefulSet(ctx, st, a, obj)
			if err != nil {
				return false, err
			}
			converged = converged && ok
			inProgress = inProgress || !ok
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
		owner := st.Applied[rs.Owner]
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
	if len(failed) > 0 && !inProgress {
		return false, &RolloutError{Deployments: failedKeys, Failures: failed}
	}
	return converged && r.deletesPending() == 0, nil
}

// failure describes a failed rollout: the deadline, and the new pods that are not
// available with their reasons.
func (r *Reconciler) failure(st *State, a *Applied, d *manifest.Deployment) string {
	msg := fmt.Sprintf("deployment %q exceeded its progress deadline (%ds)", d.Name, *d.Spec.ProgressDeadlineSeconds)
	if s := st.StatusOf(a.Key, d, r.now()); s.NewRS != nil {
		msg += fmt.Sprintf(": %d of %d updated pods available%s", s.NewRS.Counts(r.now()).Available, *d.Spec.Replicas, whyNotReady(s.NewRS.Pods))
	}
	return msg
}

// syncPod keeps a bare Pod's pod running: created when missing, replaced when it failed.
func (r *Reconciler) syncPod(ctx context.Context, st *State, a *Applied, pod *manifest.Pod) (bool, error) {
	pods := r.live(st.PodsOf(a.Key))
	for _, p := range pods {
		if p.Status.Terminating || p.Status.Phase == backend.PodFailed && (p.Status.Reason == "SupervisorLost" || p.Status.Reason == "Stopped") {
			r.deleteInactive(ctx, p)
			return false, nil
		}
	}
	if len(pods) == 0 {
		if r.isDeleting(pod.Namespace + "_" + pod.Name) {
			return false, nil
		}
		labels := r.podLabels(pod.Labels, a.Key.Namespace, "Pod", pod.Name, "", "", a.Commit)
		resolved, err := st.resolve(pod.Namespace, &pod.Spec)
		if err != nil {
			return false, fmt.Errorf("%s: %w", ObjectName(a.Key), err)
		}
		if err := r.createPod(ctx, ObjectName(a.Key), backend.PodSpec{Name: pod.Name, Namespace: pod.Namespace, Labels: labels, Annotations: pod.Annotations, Spec: pod.Spec}.WithValues(resolved)); err != nil {
			return false, err
		}
		return false, nil
	}
	p := pods[0]
	return p.Status.Ready || p.Status.Phase == backend.PodSucceeded || p.Status.Phase == backend.PodFailed && pod.Spec.RestartPolicy != "Always", nil
}

// podLabels are a pod's labels: its template's, plus kgit's.
func (r *Reconciler) podLabels(template map[string]string, ns, ownerKind, owner, hash, revision, commit string) map[string]string {
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
func (r *Reconciler) syncReplicaSet(ctx context.Context, st *State, rs *RS) (bool, error) {
	var active []*backend.Pod
	for _, p := range r.live(rs.Pods) {
		if p.Status.Active() {
			active = append(active, p)
		} else {
			r.deleteInactive(ctx, p)
		}
	}
	want := rs.Replicas()
	switch diff := len(active) - want; {
	case diff < 0:
		return false, r.createPods(ctx, st, rs, -diff)
	case diff > 0:
		ranked := make([]rankedPod, len(active))
		for i, p := range active {
			ranked[i] = rankedPod{Pod: p, Rank: len(active), Unassigned: p.Status.Phase == backend.PodPending && p.Status.StartTime.IsZero()}
		}
		SortForDeletion(ranked, r.now(), Gates{DeletionCost: true, LogarithmicScaleDown: true})
		for _, rp := range ranked[:diff] {
			r.deletePodBy(ctx, rp.Pod, ObjectName(manifest.Key{Kind: "ReplicaSet", Name: rs.RS.Name}), "SuccessfulDelete", "Deleted pod: %s", rp.Pod.Name)
		}
		return false, nil
	}
	c := Count(active, rs.RS.Spec.MinReadySeconds, r.now())
	return c.Ready == want, nil
}

// deleteInactive removes a pod that no longer counts: finished, lost, or left half
// stopped by an interrupted deletion.
func (r *Reconciler) deleteInactive(ctx context.Context, p *backend.Pod) {
	switch {
	case p.Status.Terminating:
		r.deletePod(ctx, p, "Killing", "Stopping pod %s: finishing an interrupted deletion", p.Name)
	case p.Status.Message != "":
		r.deletePod(ctx, p, "Killing", "Stopping pod %s: %s", p.Name, p.Status.Message)
	default:
		r.deletePod(ctx, p, "Killing", "Stopping pod %s: it is %s (%s)", p.Name, p.Status.Phase, p.Status.Reason)
	}
}

// createPods creates n pods of a ReplicaSet in parallel.
func (r *Reconciler) createPods(ctx context.Context, st *State, rs *RS, n int) error {
	t := rs.RS.Spec.Template
	resolved, err := st.resolve(rs.RS.Namespace, &t.Spec)
	if err != nil {
		return fmt.Errorf("%s: %w", ObjectName(manifest.Key{Kind: "ReplicaSet", Name: rs.RS.Name}), err)
	}
	ownerKind, owner := "ReplicaSet", rs.RS.Name
	if rs.Owner.Kind == "Deployment" || rs.Owner.Kind == "DaemonSet" {
		ownerKind, owner = rs.Owner.Kind, rs.Owner.Name
	}
	labels := r.podLabels(t.Labels, rs.RS.Namespace, ownerKind, owner, t.Labels[HashLabel], rs.RS.Annotations[RevisionAnnotation], rs.Commit)
	rsName := ObjectName(manifest.Key{Kind: "ReplicaSet", Name: rs.RS.Name})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := backend.PodSpec{Name: PodName(rs.RS.Name), Namespace: rs.RS.Namespace, Labels: labels, Annotations: t.Annotations, Spec: t.Spec}.WithValues(resolved)
			errs <- r.createPod(ctx, rsName, spec)
		}()
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(errs chan error) []error {
	var out []error
	for err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func (r *Reconciler) createPod(ctx context.Context, owner string, spec backend.PodSpec) error {
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
func (r *Reconciler) deletePod(ctx context.Context, p *backend.Pod, reason, format string, args ...any) {
	r.deletePodBy(ctx, p, "pod/"+p.Name, reason, format, args...)
}

// deletePodBy is deletePod with the event reported against obj (the pod's owner).
func (r *Reconciler) deletePodBy(ctx context.Context, p *backend.Pod, obj, reason, format string, args ...any) {
	r.mu.Lock()
	if r.deleting == nil {
		r.deleting = map[string]bool{}
	}
	if r.deleting[p.ID] {
		r.mu.Unlock()
		return
	}
	r.deleting[p.ID] = true
	r.mu.Unlock()
	// The pod stops counting at once, as a deletionTimestamp makes it in Kubernetes: for
	// this pass, and for whoever looks at the backend, which marks it if it can.
	p.Status.Terminating = true
	if t, ok := r.Backend.(backend.Terminator); ok {
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

func (r *Reconciler) isDeleting(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deleting[id]
}

func (r *Reconciler) deletesPending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.deleting)
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
func (r *Reconciler) settle(st *State) {
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
}

// live drops pods that are being deleted.
func (r *Reconciler) live(pods []*backend.Pod) []*backend.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*backend.Pod, 0, len(pods))
	for _, p := range pods {
		if !r.deleting[p.ID] {
			out = append(out, p)
		}
	}
	return out
}

// WaitDeletes waits for the background deletions and returns their errors.
func (r *Reconciler) WaitDeletes() error {
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	err := errors.Join(r.errs...)
	r.errs = nil
	return err
}

// Down removes every pod and record of the app.
func (r *Reconciler) Down(ctx context.Context) error {
	st, err := Load(ctx, r.Backend, r.App)
	if err != nil {
		return err
	}
	for _, p := range st.Pods {
		r.deletePod(ctx, p, "Killing", "Stopping pod %s", p.Name)
	}
	if err := r.WaitDeletes(); err != nil {
		return err
	}
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
		r.event(ObjectName(a.Key), "Pruned", "%s deleted", ObjectName(a.Key))
	}
	return nil
}

// reportPodConditions turns what the pods report into the kubelet's events, once each:
// BackOff for a container waiting to restart, Unhealthy for a failing probe.
func (r *Reconciler) reportPodConditions(pods []*backend.Pod) {
	for _, p := range pods {
		for _, c := range p.Status.Containers {
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
			r.mu.Lock()
			if r.seen == nil {
				r.seen = map[string]bool{}
			}
			fresh := !r.seen[key]
			r.seen[key] = true
			r.mu.Unlock()
			if fresh {
				r.event("pod/"+p.Name, reason, "%s", msg)
			}
		}
	}
}
