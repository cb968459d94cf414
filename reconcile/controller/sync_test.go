package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/memory"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

func deployment(t *testing.T, replicas int, image, surge, unavailable string) *manifest.Object {
	t.Helper()
	y := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: %s, maxUnavailable: %s}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: %q, command: [sleep, "1"]}]
`, replicas, surge, unavailable, image)
	objs, err := manifest.Parse([]manifest.File{{Path: "web.yaml", Data: []byte(y)}})
	if err != nil {
		t.Fatal(err)
	}
	return objs[0]
}

func syncOK(t *testing.T, r *Local, objs ...*manifest.Object) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Sync(ctx, objs, reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
}

func podsByImage(t *testing.T, b backend.Backend) (map[string]int, map[string]int) {
	pods, err := b.ListPods(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	all, ready := map[string]int{}, map[string]int{}
	for _, p := range pods {
		img := p.Spec.Containers[0].Image
		all[img]++
		if p.Status.Ready {
			ready[img]++
		}
	}
	return all, ready
}

func TestSyncCreatesAndLabels(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	syncOK(t, r, deployment(t, 3, "web:v1", "25%", "25%"))
	pods, _ := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "shop", backend.LabelOwner: "web"})
	if len(pods) != 3 {
		t.Fatalf("%d pods, want 3", len(pods))
	}
	p := pods[0]
	hash := p.Labels[HashLabel]
	for k, want := range map[string]string{backend.LabelManagedBy: "kgit", backend.LabelNamespace: "default", backend.LabelOwnerKind: "Deployment",
		backend.LabelHash: hash, backend.LabelRevision: "1", backend.LabelCommit: "c1", "app": "web"} {
		if p.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, p.Labels[k], want)
		}
	}
	if want := "web-" + hash + "-"; len(p.Name) != len(want)+5 || p.Name[:len(want)] != want {
		t.Errorf("pod name %q is not %s<5 chars>", p.Name, want)
	}
	// a second sync of the same commit changes nothing
	before, _ := b.ListPods(context.Background(), nil)
	syncOK(t, r, deployment(t, 3, "web:v1", "25%", "25%"))
	after, _ := b.ListPods(context.Background(), nil)
	if fmt.Sprint(names2(before)) != fmt.Sprint(names2(after)) {
		t.Errorf("a no-op sync replaced pods: %v -> %v", names2(before), names2(after))
	}
}

func names2(pods []*backend.Pod) map[string]bool {
	m := map[string]bool{}
	for _, p := range pods {
		m[p.Name] = true
	}
	return m
}

// A rolling update whose new pods never become ready stops within maxSurge and keeps
// the old pods that maxUnavailable protects, and the sync times out.
func TestRollingUpdateNeverReadyKeepsOldPods(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	syncOK(t, r, deployment(t, 10, "web:v1", "25%", "25%"))
	b.Hold = func(s backend.PodSpec) bool { return s.Spec.Containers[0].Image == "web:v2" }
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := r.Sync(ctx, []*manifest.Object{deployment(t, 10, "web:v2", "25%", "25%")}, reconcile.SyncOptions{Commit: "c2", Prune: true})
	if !errors.Is(err, reconcile.ErrTimeout) {
		t.Fatalf("sync: %v, want ErrTimeout", err)
	}
	all, ready := podsByImage(t, b)
	// 10 replicas, 25%/25%: surge 3, unavailable 2 -> stuck at 5 new + 8 old.
	if all["web:v1"]+all["web:v2"] > 13 || ready["web:v1"] < 8 {
		t.Errorf("pods %v ready %v: want at most 13 pods and at least 8 old ready", all, ready)
	}
	if all["web:v1"] != 8 || all["web:v2"] != 5 {
		t.Errorf("pods %v, want 8 old and 5 new as Kubernetes leaves them", all)
	}
}

// Step by step, a rolling update never runs more than replicas+surge pods nor fewer
// than replicas-unavailable ready ones, and ends with only new pods.
func TestRollingUpdateBounds(t *testing.T) {
	for _, tc := range []struct {
		replicas             int
		surge, unavailable   string
		maxPods, minReadyNow int
	}{
		{10, "25%", "25%", 13, 8},
		{10, "0", "1", 10, 9},
		{10, "1", "0", 11, 10},
		{3, "100%", "0", 6, 3},
	} {
		t.Run(fmt.Sprintf("%d-%s-%s", tc.replicas, tc.surge, tc.unavailable), func(t *testing.T) {
			b := memory.New()
			r := newLocal(b, "shop")
			syncOK(t, r, deployment(t, tc.replicas, "web:v1", tc.surge, tc.unavailable))
			b.Hold = func(s backend.PodSpec) bool { return true }
			ctx := context.Background()
			desired := deployment(t, tc.replicas, "web:v2", tc.surge, tc.unavailable)
			st, _ := Load(ctx, b, "shop")
			if err := applyTo(ctx, r, st, desired, "c2"); err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				if i > 200 {
					t.Fatal("rollout did not finish in 200 steps")
				}
				st, err := Load(ctx, b, "shop")
				if err != nil {
					t.Fatal(err)
				}
				done, err := r.Step(ctx, st)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.WaitDeletes(); err != nil {
					t.Fatal(err)
				}
				all, ready := podsByImage(t, b)
				if n := all["web:v1"] + all["web:v2"]; n > tc.maxPods {
					t.Fatalf("step %d: %d pods (%v), more than %d", i, n, all, tc.maxPods)
				}
				if n := ready["web:v1"] + ready["web:v2"]; n < tc.minReadyNow {
					t.Fatalf("step %d: %d ready (%v), fewer than %d", i, n, ready, tc.minReadyNow)
				}
				if done {
					if all["web:v1"] != 0 || all["web:v2"] != tc.replicas {
						t.Fatalf("done with %v", all)
					}
					return
				}
				// the held pods become ready one step later
				pods, _ := b.ListPods(ctx, nil)
				for _, p := range pods {
					b.SetStatus(p.ID, func(s *backend.PodStatus) {
						if s.Phase == backend.PodPending {
							s.Phase, s.Ready, s.ReadySince = backend.PodRunning, true, time.Now()
						}
					})
				}
			}
		})
	}
}

func TestPruneAndEmptyRefusal(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	syncOK(t, r, deployment(t, 2, "web:v1", "25%", "25%"))
	err := r.Sync(context.Background(), nil, reconcile.SyncOptions{Prune: true})
	if !errors.Is(err, reconcile.ErrEmptyDesired) {
		t.Fatalf("empty sync: %v, want ErrEmptyDesired", err)
	}
	if pods, _ := b.ListPods(context.Background(), nil); len(pods) != 2 {
		t.Fatalf("refused sync changed pods: %d", len(pods))
	}
	if err := r.Sync(context.Background(), nil, reconcile.SyncOptions{Prune: true, AllowEmpty: true}); err != nil {
		t.Fatal(err)
	}
	pods, _ := b.ListPods(context.Background(), nil)
	recs, _ := b.ListRecords(context.Background(), nil)
	if len(pods) != 0 || len(recs) != 0 {
		t.Errorf("after pruning everything: %d pods, %d records", len(pods), len(recs))
	}
}

// Another app's objects are never touched.
func TestAppsAreIsolated(t *testing.T) {
	b := memory.New()
	a := newLocal(b, "a")
	other := newLocal(b, "b")
	syncOK(t, a, deployment(t, 2, "web:v1", "25%", "25%"))
	syncOK(t, other, deployment(t, 1, "web:v9", "25%", "25%"))
	if err := a.Sync(context.Background(), nil, reconcile.SyncOptions{Prune: true, AllowEmpty: true}); err != nil {
		t.Fatal(err)
	}
	all, _ := podsByImage(t, b)
	if all["web:v1"] != 0 || all["web:v9"] != 1 {
		t.Errorf("pods %v: pruning app a must leave app b alone", all)
	}
}

// readyAll marks every pending pod ready, as if its readiness probe passed.
func readyAll(b *memory.Backend) {
	pods, _ := b.ListPods(context.Background(), nil)
	for _, p := range pods {
		b.SetStatus(p.ID, func(s *backend.PodStatus) {
			if s.Phase == backend.PodPending {
				s.Phase, s.Ready, s.ReadySince = backend.PodRunning, true, time.Now()
			}
		})
	}
}

// step runs one controller pass over what the backend holds now.
func step(t *testing.T, r *Local) bool {
	t.Helper()
	st, err := Load(context.Background(), r.Backend, r.App)
	if err != nil {
		t.Fatal(err)
	}
	done, err := r.Step(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitDeletes(); err != nil {
		t.Fatal(err)
	}
	return done
}

func applyOnly(t *testing.T, r *Local, o *manifest.Object) {
	t.Helper()
	st, _ := Load(context.Background(), r.Backend, r.App)
	if err := applyTo(context.Background(), r, st, o, "c"); err != nil {
		t.Fatal(err)
	}
}

func replicaSets(t *testing.T, r *Local) map[string]int {
	st, _ := Load(context.Background(), r.Backend, r.App)
	out := map[string]int{}
	for _, rs := range st.ReplicaSets {
		out[rs.RS.Spec.Template.Spec.Containers[0].Image] = rs.Replicas()
	}
	return out
}

// midRollout is 10 replicas of v1 rolling to v2 (25%/25%) whose new pods do not become
// ready on their own, three controller passes in.
func midRollout(t *testing.T) (*memory.Backend, *Local) {
	b := memory.New()
	r := newLocal(b, "shop")
	syncOK(t, r, deployment(t, 10, "web:v1", "25%", "25%"))
	b.Hold = func(backend.PodSpec) bool { return true }
	applyOnly(t, r, deployment(t, 10, "web:v2", "25%", "25%"))
	for range 3 {
		step(t, r)
	}
	return b, r
}

// stepUntilDone runs controller passes, readying new pods after each, until converged.
func stepUntilDone(t *testing.T, b *memory.Backend, r *Local) {
	t.Helper()
	for i := 0; !step(t, r); i++ {
		if i > 100 {
			t.Fatalf("did not converge: %v", replicaSets(t, r))
		}
		readyAll(b)
	}
}

// A template change in the middle of a rollout leaves two old ReplicaSets, which are
// both scaled down as the newest comes up.
func TestChangeDuringRollout(t *testing.T) {
	b, r := midRollout(t)
	if rs := replicaSets(t, r); rs["web:v2"] == 0 || rs["web:v1"] == 10 {
		t.Fatalf("v2 did not start rolling: %v", rs)
	}
	applyOnly(t, r, deployment(t, 10, "web:v3", "25%", "25%"))
	stepUntilDone(t, b, r)
	if rs := replicaSets(t, r); rs["web:v1"] != 0 || rs["web:v2"] != 0 || rs["web:v3"] != 10 {
		t.Errorf("replica sets %v, want only v3 with 10", rs)
	}
}

// A replicas change in the middle of a rollout is spread over the ReplicaSets in
// proportion to their size.
func TestScaleDuringRollout(t *testing.T) {
	b, r := midRollout(t)
	before := replicaSets(t, r) // v1 8, v2 5: 13 = 10 + surge 3
	applyOnly(t, r, deployment(t, 20, "web:v2", "25%", "25%"))
	step(t, r)
	after := replicaSets(t, r)
	// 20 replicas allow 25 pods (surge 5): 12 more, split about 8:5.
	if before["web:v1"] != 8 || before["web:v2"] != 5 || after["web:v1"]+after["web:v2"] != 25 || after["web:v1"] <= before["web:v1"] || after["web:v2"] <= before["web:v2"] {
		t.Errorf("proportional scaling %v -> %v, want both to grow to 25 in all", before, after)
	}
	stepUntilDone(t, b, r)
	if rs := replicaSets(t, r); rs["web:v1"] != 0 || rs["web:v2"] != 20 {
		t.Errorf("replica sets %v, want v2 with 20", rs)
	}
}

func TestRevisionHistoryLimit(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		d := deployment(t, 2, "web:"+v, "25%", "25%")
		*d.Obj.(*manifest.Deployment).Spec.RevisionHistoryLimit = 1
		syncOK(t, r, d)
	}
	rs := replicaSets(t, r)
	if len(rs) != 2 || rs["web:v3"] != 0 || rs["web:v4"] != 2 {
		t.Errorf("replica sets %v, want v4 (2) and one old (v3)", rs)
	}
}

// staleLister serves, once told to, a pod listing taken earlier, as an engine's list
// that raced a removal does.
type staleLister struct {
	*memory.Backend
	mu      sync.Mutex
	old     []*backend.Pod // served instead of the truth when set
	deletes int
}

func (s *staleLister) ListPods(ctx context.Context, sel map[string]string) ([]*backend.Pod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.old != nil {
		return s.old, nil
	}
	return s.Backend.ListPods(ctx, sel)
}

func (s *staleLister) DeletePod(ctx context.Context, id string, grace time.Duration) error {
	s.mu.Lock()
	s.deletes++
	s.mu.Unlock()
	return s.Backend.DeletePod(ctx, id, grace)
}

// A pod whose deletion finished still shows in a listing taken before: it must not count
// as active, or the ReplicaSet controller deletes one pod too many.
func TestStaleListingAfterDelete(t *testing.T) {
	b := &staleLister{Backend: memory.New()}
	r := newLocal(b, "shop")
	syncOK(t, r, deployment(t, 3, "web:v1", "25%", "25%"))
	before, err := b.ListPods(context.Background(), nil)
	if err != nil || len(before) != 3 {
		t.Fatalf("%d pods, %v", len(before), err)
	}
	applyOnly(t, r, deployment(t, 2, "web:v1", "25%", "25%"))
	step(t, r) // one pod deleted, and the deletion has finished
	if b.deletes != 1 {
		t.Fatalf("%d pods deleted scaling 3 to 2", b.deletes)
	}
	b.mu.Lock()
	b.old = before // the listing from before that deletion: 3 pods
	b.mu.Unlock()
	step(t, r)
	if b.deletes != 1 {
		t.Errorf("a stale listing made the controller delete %d pods in all, want 1", b.deletes)
	}
}

// newLocal is the local target of app on b, polling fast, with a syncer in front.
func newLocal(b backend.Backend, app string) *Local {
	l := New(b, app, nil, nil)
	l.Poll = time.Millisecond
	return l
}

// Sync is a sync through the GitOps layer onto this target.
func (r *Local) Sync(ctx context.Context, objs []*manifest.Object, opts reconcile.SyncOptions) error {
	return (&reconcile.Syncer{Target: r, Emitter: r.Emitter}).Sync(ctx, objs, opts)
}

// applyTo hands the target one object without converging.
func applyTo(ctx context.Context, r *Local, st *State, o *manifest.Object, commit string) error {
	data, err := json.Marshal(o.Obj)
	if err != nil {
		return err
	}
	created := time.Now()
	if old := st.Objects[o.Key()]; old != nil {
		created = old.Created
	}
	return r.Apply(ctx, st, &reconcile.Applied{Key: o.Key(), Object: o.Obj, Commit: commit, Created: created, Data: data})
}

// fastClock is a clock that moves step further on every reading, so that progress
// deadlines pass within a test.
func fastClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := time.Now()
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

// --auto-rollback of a one-replica Deployment: the rollout of a template whose pod never
// becomes ready fails at its progress deadline; the rollback brings the old template
// back, converges, and says so once. Every event it journals has its time.
func TestAutoRollbackOneReplica(t *testing.T) {
	b := memory.New()
	rec := &reconcile.Recorder{}
	r := newLocal(b, "shop")
	r.Now = fastClock(50 * time.Millisecond)
	r.Sink = rec
	s := &reconcile.Syncer{Target: r, Emitter: r.Emitter}
	withDeadline := func(image string) *manifest.Object {
		o := deployment(t, 1, image, "25%", "25%")
		pds := int32(2)
		o.Obj.(*manifest.Deployment).Spec.ProgressDeadlineSeconds = &pds
		return o
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Sync(ctx, []*manifest.Object{withDeadline("web:v1")}, reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	b.Hold = func(s backend.PodSpec) bool { return s.Spec.Containers[0].Image == "web:v2" }
	err := s.Sync(ctx, []*manifest.Object{withDeadline("web:v2")}, reconcile.SyncOptions{Commit: "c2", Prune: true})
	var failed *reconcile.RolloutError
	if !errors.As(err, &failed) {
		t.Fatalf("sync of a never-ready template: %v, want a RolloutError", err)
	}
	lines, err := s.AutoRollback(ctx, failed)
	if err != nil {
		t.Fatalf("auto-rollback: %v (lines %q)", err, lines)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `Rolled back deployment "web" to revision 1`) {
		t.Errorf("auto-rollback said %q", lines)
	}
	all, ready := podsByImage(t, b)
	if all["web:v1"] != 1 || ready["web:v1"] != 1 || all["web:v2"] != 0 {
		t.Errorf("after the auto-rollback: pods %v, ready %v; want the one v1 pod only", all, ready)
	}
	rollbacks := 0
	for _, e := range rec.Events() {
		if e.Time.IsZero() || e.App != "shop" {
			t.Errorf("event %+v has no time or app", e)
		}
		if e.Reason == "DeploymentRollback" {
			rollbacks++
		}
	}
	if rollbacks != 1 {
		t.Errorf("%d DeploymentRollback events, want 1", rollbacks)
	}
}

// A bare Pod changed in git is replaced: the new pod is created only once the old one,
// of the same name, is gone, whatever the backend's IDs (the memory backend's are
// opaque, as docker's are) and however long the old pod takes to stop.
func TestBarePodReplaced(t *testing.T) {
	b := memory.New()
	b.DeleteDelay = 100 * time.Millisecond
	r := newLocal(b, "shop")
	pod := func(image string) *manifest.Object {
		y := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec: {containers: [{name: c, image: %q, command: [sleep, \"1\"]}]}\n", image)
		objs, err := manifest.Parse([]manifest.File{{Path: "solo.yaml", Data: []byte(y)}})
		if err != nil {
			t.Fatal(err)
		}
		return objs[0]
	}
	syncOK(t, r, pod("solo:v1"))
	syncOK(t, r, pod("solo:v2"))
	all, ready := podsByImage(t, b)
	if all["solo:v1"] != 0 || all["solo:v2"] != 1 || ready["solo:v2"] != 1 {
		t.Errorf("after changing the bare pod: pods %v, ready %v; want one ready v2", all, ready)
	}
}

// kgit rollout restart: a restartedAt annotation on the template replaces every pod
// through the rolling update; a sync of the same git keeps it (an override), and one that
// changes the Deployment drops it.
func TestRolloutRestart(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	s := &reconcile.Syncer{Target: r, Emitter: r.Emitter}
	syncOK(t, r, deployment(t, 3, "web:v1", "25%", "25%"))
	before := podNames(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	live, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(ctx, live, "web"); err != nil {
		t.Fatal(err)
	}
	if err := s.Converge(ctx); err != nil {
		t.Fatal(err)
	}
	after := podNames(t, b)
	if len(after) != 3 {
		t.Fatalf("%d pods after the restart, want 3", len(after))
	}
	for n := range after {
		if before[n] {
			t.Errorf("pod %s survived the restart", n)
		}
	}
	// the same git: the restart holds, nothing is replaced
	rec := &reconcile.Recorder{}
	r.Sink, s.Sink = rec, rec
	syncOK(t, r, deployment(t, 3, "web:v1", "25%", "25%"))
	if again := podNames(t, b); len(again) != 3 || !sameKeys(again, after) {
		t.Errorf("a sync of the same git replaced the restarted pods: %v, had %v", again, after)
	}
	kept := false
	for _, e := range rec.Events() {
		kept = kept || e.Reason == "OverrideKept" && strings.Contains(e.Message, "restarted at")
	}
	if !kept {
		t.Errorf("no OverrideKept event for the restart: %+v", rec.Events())
	}
	// git changes the Deployment: the override ends
	syncOK(t, r, deployment(t, 3, "web:v2", "25%", "25%"))
	live, _ = r.Load(ctx)
	d := live.Applied()[manifest.Key{Kind: "Deployment", Namespace: "default", Name: "web"}].Object.(*manifest.Deployment)
	if o := reconcile.OverrideOf(d.Annotations); o.Kind != "" || d.Spec.Template.Annotations[reconcile.RestartedAtAnnotation] != "" {
		t.Errorf("after git changed the Deployment: override %+v, template annotations %v", o, d.Spec.Template.Annotations)
	}
}

func sameKeys(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// podNames are the names of every pod the backend holds.
func podNames(t *testing.T, b backend.Backend) map[string]bool {
	t.Helper()
	pods, err := b.ListPods(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return names2(pods)
}
