package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/process"
	"kgit.dev/kgit/reconcile/controller"
)

// TestCrashRecovery kills `kgit sync` with SIGKILL at a spread of moments of a
// 10-replica rolling update and checks, every time, that the next sync converges
// exactly: 10 ready pods of the wanted version, each owned by a live ReplicaSet, no
// duplicate, no leftover process.
func TestCrashRecovery(t *testing.T) {
	e := newRolloutEnv(t)
	e.commit("v1", rolling25, readyProbe, 600)
	e.git("tag", "v1")
	e.commit("v2", rolling25, readyProbe, 600)
	e.git("tag", "v2")
	if code, errs := e.kgit("sync", "--ref", "v1"); code != 0 {
		t.Fatalf("sync v1: exit %d\n%s", code, errs)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	delays := []time.Duration{0, 20, 60, 120, 200, 350, 500, 750, 1000, 1300, 1700, 2200}
	for i, d := range delays {
		want := []string{"v2", "v1"}[i%2]
		cmd := &exec.Cmd{Path: exe, Args: []string{"kgit", "sync", "--repo", e.repo, "--app", "roll", "--ref", want}, Env: os.Environ()}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if code, errs := e.kgit("sync", "--ref", want, "--timeout", "60s"); code != 0 {
			locks, _ := os.ReadFile("/proc/locks")
			out, _ := exec.Command("sh", "-c", "ls -l /proc/[0-9]*/fd 2>/dev/null | grep -B30 'locks/roll.lock' | grep -E '^/proc|roll.lock'").CombinedOutput()
			t.Fatalf("kill after %dms: the next sync failed: exit %d\n%s\n/proc/locks:\n%s\nholders:\n%s", d, code, errs, locks, out)
		}
		e.checkExactly(t, fmt.Sprintf("kill after %dms", d), want, 10)
	}
}

// checkExactly checks that the app runs exactly n ready pods of version, each owned by
// a ReplicaSet the app records, and exactly n container processes.
func (e *rolloutEnv) checkExactly(t *testing.T, when, version string, n int) {
	t.Helper()
	ctx := context.Background()
	b := process.New(e.root, "")
	st, err := controller.Load(ctx, b, "roll")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Orphans) > 0 {
		t.Errorf("%s: %d orphan pods", when, len(st.Orphans))
	}
	names := map[string]bool{}
	ready := 0
	for _, p := range st.Pods {
		if names[p.Name] {
			t.Errorf("%s: duplicate pod %s", when, p.Name)
		}
		names[p.Name] = true
		if !strings.HasSuffix(p.Spec.Containers[0].Image, ":"+version) {
			t.Errorf("%s: pod %s runs %s, want %s", when, p.Name, p.Spec.Containers[0].Image, version)
		}
		if p.Status.Ready && p.Status.Phase == backend.PodRunning {
			ready++
		}
	}
	if len(st.Pods) != n || ready != n {
		t.Errorf("%s: %d pods, %d ready; want exactly %d ready", when, len(st.Pods), ready, n)
	}
	if got := containerProcesses(e.root); got != n {
		t.Errorf("%s: %d container processes, want %d", when, got, n)
	}
}

// containerProcesses counts the live container processes (sleep 3600, a child of a
// supervisor of the backend root; probes come and go beside them).
func containerProcesses(root string) int {
	supervisors := map[int]bool{}
	parents := map[int]int{} // of the sleep 3600 processes
	entries, _ := os.ReadDir("/proc")
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", en.Name(), "stat"))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmdline, _ := os.ReadFile(filepath.Join("/proc", en.Name(), "cmdline"))
		if string(cmdline) == "sleep\x003600\x00" {
			parents[pid] = ppid
		}
		if strings.Contains(string(cmdline), process.SuperviseCommand+"\x00--root\x00"+root+"\x00") {
			supervisors[pid] = true
		}
	}
	n := 0
	for _, ppid := range parents {
		if supervisors[ppid] {
			n++
		}
	}
	return n
}
