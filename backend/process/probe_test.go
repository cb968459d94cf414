//go:build linux

package process

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// An exec probe that outlives its timeout fails as timed out, and its processes are
// killed rather than left behind.
func TestExecProbeTimeout(t *testing.T) {
	b := newBackend(t)
	spec := podSpec("slowprobe", "Always", 1, "sleep 3600")
	spec.Spec.Containers[0].ReadinessProbe = defaulted(manifest.Probe{PeriodSeconds: 1, TimeoutSeconds: 1,
		Exec: &manifest.ExecAction{Command: []string{"sh", "-c", "exec sleep 7.77"}}})
	p, err := b.CreatePod(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p.ID, "failing readiness as timed out", func(p *backend.Pod) bool {
		return strings.Contains(p.Status.Containers[0].Message, `command "sh -c exec sleep 7.77" timed out`)
	})
	// Each probe lives at most its 1 s timeout: no process is seen twice 2.5 s apart.
	before, _ := exec.Command("pgrep", "-f", "sleep 7.77").Output()
	time.Sleep(2500 * time.Millisecond)
	after, _ := exec.Command("pgrep", "-f", "sleep 7.77").Output()
	for _, pid := range strings.Fields(string(before)) {
		if strings.Contains(" "+strings.Join(strings.Fields(string(after)), " ")+" ", " "+pid+" ") {
			t.Errorf("probe process %s outlived its timeout", pid)
		}
	}
}

// A pod whose folder is deleted behind kgit's back stops: its supervisor notices within
// orphanCheck and stops the containers.
func TestOrphanedPodStops(t *testing.T) {
	b := newBackend(t)
	p, err := b.CreatePod(context.Background(), podSpec("orphan", "Always", 1, "exec sleep 66.6"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p.ID, "running", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodRunning })
	sup, err := b.supervisorOf(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(b.podDir(p.ID)); err != nil {
		t.Fatal(err)
	}
	if !sup.waitGone(orphanCheck + 5*time.Second) {
		t.Fatal("the supervisor of a deleted pod folder kept running")
	}
	if out, _ := exec.Command("pgrep", "-f", "sleep 66.6").Output(); len(out) > 0 {
		t.Errorf("the orphaned pod's container kept running: %s", out)
	}
}
