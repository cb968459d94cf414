//go:build linux

package process

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAddressClaims: a pod's address is held by a claim file while the pod lives and
// released with it; a claim left by a crash is taken over (at once by the pod that left
// it, after a while for another), and a live pod's claim never is.
func TestAddressClaims(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	p, err := b.CreatePod(ctx, podSpec("one", "Always", 1, "sleep 3600"))
	if err != nil {
		t.Fatal(err)
	}
	ip := p.Status.PodIP
	claim := filepath.Join(b.root, "ips", ip)
	if owner, err := os.ReadFile(claim); err != nil || string(owner) != p.ID {
		t.Fatalf("claim of %s: %q, %v; want %s", ip, owner, err, p.ID)
	}
	if err := b.DeletePod(ctx, p.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(claim); !os.IsNotExist(err) {
		t.Fatalf("the claim outlived its pod: %v", err)
	}
	// A crash left the claim of "one" behind: the same pod takes it over at once.
	if err := os.WriteFile(claim, []byte(p.ID), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := b.CreatePod(ctx, podSpec("one", "Always", 1, "sleep 3600"))
	if err != nil || again.Status.PodIP != ip {
		t.Fatalf("re-created pod: %v, address %s; want %s back", err, again.Status.PodIP, ip)
	}
	// A live pod's claim is not taken, however old.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(claim, old, old); err != nil {
		t.Fatal(err)
	}
	if b.staleClaim(claim, "default_two") {
		t.Errorf("the claim of a live pod counts as stale")
	}
	// Once its pod's folder is gone, an old claim is stale for anyone; a young one is not.
	// (its supervisor may write a file in it meanwhile: try again)
	var rmErr error
	for range 50 {
		if rmErr = os.RemoveAll(b.podDir(again.ID)); rmErr == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rmErr != nil {
		t.Fatal(rmErr)
	}
	if !b.staleClaim(claim, "default_two") {
		t.Errorf("an hour-old claim of a gone pod is not stale")
	}
	if err := os.Chtimes(claim, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if b.staleClaim(claim, "default_two") {
		t.Errorf("a claim younger than a creation takes counts as stale")
	}
}
