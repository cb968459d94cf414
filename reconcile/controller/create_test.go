package controller

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/memory"
)

// slowCreates is a backend whose pods show in listings, half made (Failed), before
// their creation returns, and whose creations wait for release.
type slowCreates struct {
	*memory.Backend
	release chan struct{}
	entered chan struct{}
	creates atomic.Int32
	deletes atomic.Int32
	fail    error
}

func (b *slowCreates) CreatePod(ctx context.Context, spec backend.PodSpec) (*backend.Pod, error) {
	b.creates.Add(1)
	if b.fail != nil {
		return nil, b.fail
	}
	p, err := b.Backend.CreatePod(ctx, spec)
	if err != nil {
		return nil, err
	}
	b.SetStatus(p.ID, func(s *backend.PodStatus) { s.Phase, s.Reason = backend.PodFailed, "HalfMade" })
	b.entered <- struct{}{}
	<-b.release
	b.SetStatus(p.ID, func(s *backend.PodStatus) { s.Phase, s.Reason = backend.PodPending, "" })
	return p, nil
}

func (b *slowCreates) DeletePod(ctx context.Context, id string, grace time.Duration) error {
	b.deletes.Add(1)
	return b.Backend.DeletePod(ctx, id, grace)
}

// A ReplicaSet's pods are created in the background: a pass does not wait for them,
// the passes while they are under way neither create more nor delete the half-made
// pods a listing shows, and once made each is counted until a listing shows it.
func TestCreationsInBackground(t *testing.T) {
	b := &slowCreates{Backend: memory.New(), release: make(chan struct{}), entered: make(chan struct{}, 10)}
	r := newLocal(b, "shop")
	ctx := context.Background()
	st, err := Load(ctx, b, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if err := applyTo(ctx, r, st, deployment(t, 3, "web:v1", "25%", "25%"), "c1"); err != nil {
		t.Fatal(err)
	}
	stepped := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 5 && err == nil; i++ { // the Deployment makes its ReplicaSet, which creates
			var st *State
			if st, err = Load(ctx, b, "shop"); err == nil {
				_, err = r.Step(ctx, st)
			}
		}
		stepped <- err
	}()
	select {
	case err := <-stepped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the passes waited for their pods' creations")
	}
	for range 3 {
		<-b.entered
	}
	if n := b.creates.Load(); n != 3 {
		t.Fatalf("%d creations under way, want 3", n)
	}
	if n := b.deletes.Load(); n != 0 {
		t.Fatalf("%d half-made pods deleted while their creation was under way", n)
	}
	close(b.release)
	if err := r.WaitDeletes(); err != nil {
		t.Fatal(err)
	}
	for i := 0; !step(t, r); i++ {
		if i > 50 {
			t.Fatal("not converged in 50 passes")
		}
		readyAll(b.Backend)
	}
	pods, _ := b.ListPods(ctx, nil)
	if len(pods) != 3 || b.creates.Load() != 3 || b.deletes.Load() != 0 {
		t.Fatalf("%d pods from %d creations and %d deletions, want 3, 3, 0", len(pods), b.creates.Load(), b.deletes.Load())
	}
}

// A pod created after the listing began is counted though the listing misses it, and
// one that a later listing misses is gone and made again.
func TestCreatedPodExpectedUntilListed(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	syncOK(t, r, deployment(t, 2, "web:v1", "25%", "25%"))
	ctx := context.Background()
	stale, err := Load(ctx, b, "shop") // begun before the creation below, without the pod deleted next
	if err != nil {
		t.Fatal(err)
	}
	pods, _ := b.ListPods(ctx, nil)
	if err := b.DeletePod(ctx, pods[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	// the pass of a listing without the pod makes one more
	if _, err := r.Step(ctx, mustLoad(t, b)); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitDeletes(); err != nil {
		t.Fatal(err)
	}
	stale.dropPods(func(p *backend.Pod) bool { return p.ID == pods[0].ID })
	var rs *RS
	for _, x := range stale.ReplicaSets {
		rs = x
	}
	r.settle(stale)
	if rs.Expected != 1 {
		t.Fatalf("Expected = %d for a creation the listing could not show, want 1", rs.Expected)
	}
	if _, err := r.Step(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitDeletes(); err != nil {
		t.Fatal(err)
	}
	if all, _ := podsByImage(t, b); all["web:v1"] != 2 {
		t.Fatalf("%v: a pass over a listing that missed a fresh pod made another", all)
	}
	// now a fresh listing shows it: no longer expected
	fresh := mustLoad(t, b)
	r.settle(fresh)
	for _, x := range fresh.ReplicaSets {
		if x.Expected != 0 {
			t.Fatalf("Expected = %d after a listing showed the pod", x.Expected)
		}
	}
}

// A creation that fails fails the next pass, once.
func TestFailedCreationFailsNextPass(t *testing.T) {
	b := &slowCreates{Backend: memory.New(), release: make(chan struct{}), entered: make(chan struct{}, 10), fail: errors.New("no room")}
	r := newLocal(b, "shop")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := mustLoad(t, b)
	if err := applyTo(ctx, r, st, deployment(t, 2, "web:v1", "25%", "25%"), "c1"); err != nil {
		t.Fatal(err)
	}
	err := r.Converge(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "no room") {
		t.Fatalf("converge: %v, want the creation's error", err)
	}
	if err := r.WaitDeletes(); err != nil {
		t.Fatalf("the error was returned twice: %v", err)
	}
}

func mustLoad(t *testing.T, b backend.Backend) *State {
	t.Helper()
	st, err := Load(context.Background(), b, "shop")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A pod whose deletion finishes after a pass's listing was settled is not live: the
// controllers would otherwise see it terminating, not being deleted, and stop it again
// ("finishing an interrupted deletion"), as rollouts on a busy machine did.
func TestLiveAfterDeletionFinished(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	ctx := context.Background()
	p, err := b.CreatePod(ctx, backend.PodSpec{Name: "web-1", Namespace: "default",
		Labels: map[string]string{backend.LabelApp: "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.live([]*backend.Pod{p}); len(got) != 1 {
		t.Fatalf("a pod nobody deletes: %d live, want 1", len(got))
	}
	r.deletePodBy(ctx, p, "replicaset.apps/web-1", "SuccessfulDelete", "Deleted pod: %s", p.Name)
	if got := r.live([]*backend.Pod{p}); len(got) != 0 {
		t.Errorf("a pod being deleted: %d live, want 0", len(got))
	}
	if err := r.WaitDeletes(); err != nil {
		t.Fatal(err)
	}
	if got := r.live([]*backend.Pod{p}); len(got) != 0 {
		t.Errorf("a pod whose deletion finished, from a listing taken before: %d live, want 0", len(got))
	}
}
