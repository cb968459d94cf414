//go:build linux

package process

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLockOfADeadHolder: a sync lock whose taker died while a child still shares it is
// waited for (briefly) rather than reported as held by another sync.
func TestLockOfADeadHolder(t *testing.T) {
	b := newBackend(t)
	if err := os.MkdirAll(filepath.Join(b.root, "locks"), 0o700); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(exe, "__lockandexit", filepath.Join(b.root, "locks", "app.lock")).CombinedOutput(); err != nil {
		t.Fatalf("lock and exit: %v\n%s", err, out)
	}
	release, err := b.Lock(context.Background(), "app", 0)
	if err != nil {
		t.Fatalf("Lock after its holder died: %v", err)
	}
	release()
}
