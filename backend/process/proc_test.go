//go:build linux

package process

import (
	"os/exec"
	"testing"
	"time"
)

// waitGone must tell a process that exits within the wait from one that outlives it,
// whether the process is this one's child (a container) or not (a supervisor).
func TestWaitGone(t *testing.T) {
	cmd := exec.Command("sleep", "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, err := identify(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	if !p.waitGone(10 * time.Second) {
		t.Error("a child that exits after 0.2 s: not gone after 10 s")
	}
	if p.Alive() {
		t.Error("waitGone said gone, but the process is alive")
	}

	long := exec.Command("sleep", "30")
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { long.Process.Kill(); long.Wait() }()
	q, err := identify(long.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if q.waitGone(100 * time.Millisecond) {
		t.Error("a process that runs 30 s: gone after 0.1 s")
	}
	// A PID that is no longer the process it was (another start time) is gone at once.
	if !(Proc{PID: q.PID, Start: q.Start + 1}).waitGone(10 * time.Second) {
		t.Error("a recycled PID counted as the process")
	}
}
