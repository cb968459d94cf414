package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/process"
	"kgit.dev/kgit/cmd/kgit/cli"
)

// These tests roll real processes on the process backend and watch them from the side,
// as a user would with `kgit get pods`, to check the rolling-update guarantees.

// rolloutEnv is a git repository and a process backend root for one test.
type rolloutEnv struct {
	t          testing.TB
	repo, root string
	app        string // --app; "roll" when empty
}

func newRolloutEnv(t *testing.T) *rolloutEnv {
	if testing.Short() {
		t.Skip("rolls real processes")
	}
	return newRolloutEnvB(t)
}

func newRolloutEnvB(t testing.TB) *rolloutEnv {
	dir := t.TempDir()
	e := &rolloutEnv{t: t, repo: filepath.Join(dir, "repo"), root: filepath.Join(dir, "root")}
	t.Setenv("KGIT_PROCESS_ROOT", e.root)
	t.Setenv("KGIT_STATE_DIR", filepath.Join(dir, "state"))
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"} {
		t.Setenv(k, "kgit-test")
	}
	if err := os.MkdirAll(e.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	e.git("init", "-q", "-b", "main")
	t.Cleanup(func() { stopAll(e.root) })
	return e
}

func (e *rolloutEnv) git(args ...string) {
	e.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = e.repo
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// commit writes a Deployment of 10 replicas of the given version and strategy and
// commits it.
func (e *rolloutEnv) commit(version, strategy, probe string, deadline int) {
	e.commitN(10, version, strategy, probe, deadline)
}

func (e *rolloutEnv) commitN(replicas int, version, strategy, probe string, deadline int) {
	e.t.Helper()
	y := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  progressDeadlineSeconds: %d
  strategy:
    %s
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: example.com/web:%s
        workingDir: %s
        command: ["sh", "-c", "sleep 0.2; touch $(POD_NAME).ready; exec sleep 3600"]
        readinessProbe:
          exec:
            command: [sh, -c, %q]
          periodSeconds: 1
`, replicas, deadline, strategy, version, e.repo, probe)
	if err := os.WriteFile(filepath.Join(e.repo, "web.yaml"), []byte(y), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.git("add", "web.yaml")
	e.git("commit", "-qm", version)
}

const (
	rolling25   = "rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}"
	readyProbe  = "test -f $(POD_NAME).ready"
	neverReady  = "echo not ready yet; exit 1"
	recreateStr = "type: Recreate"
)

func (e *rolloutEnv) kgit(args ...string) (int, string) {
	var out, errb bytes.Buffer
	app := e.app
	if app == "" {
		app = "roll"
	}
	code := cli.Main(append(args, "--repo", e.repo, "--app", app), &out, &errb)
	return code, errb.String()
}

// sample is what a watcher saw at one moment.
type sample struct{ total, ready, v1, v2 int }

// watch samples the pods every 20 ms until stop is closed.
func (e *rolloutEnv) watch(stop chan struct{}) func() []sample {
	b := process.New(e.root, "")
	var mu sync.Mutex
	var samples []sample
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			pods, err := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "roll"})
			if err == nil {
				var s sample
				for _, p := range pods {
					if strings.HasSuffix(p.Spec.Containers[0].Image, ":v1") {
						s.v1++
					} else {
						s.v2++
					}
					if p.Status.Terminating || !p.Status.Active() {
						continue
					}
					s.total++
					if p.Status.Ready {
						s.ready++
					}
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() []sample { <-done; mu.Lock(); defer mu.Unlock(); return samples }
}

// rollWatched syncs v1, then rolls to v2 with the strategy while a watcher samples the
// pods; it returns the samples and the sync's stderr.
func rollWatched(t *testing.T, strategy string) ([]sample, string) {
	e := newRolloutEnv(t)
	e.commit("v1", strategy, readyProbe, 600)
	if code, errs := e.kgit("sync"); code != 0 {
		t.Fatalf("sync v1: exit %d\n%s", code, errs)
	}
	e.commit("v2", strategy, readyProbe, 600)
	stop := make(chan struct{})
	samples := e.watch(stop)
	code, errs := e.kgit("sync")
	close(stop)
	if code != 0 {
		t.Fatalf("sync v2: exit %d\n%s", code, errs)
	}
	return samples(), errs
}

func TestRollingUpdate25PercentBounds(t *testing.T) {
	samples, errs := rollWatched(t, rolling25)
	maxTotal, minReady := 0, 10
	for _, s := range samples {
		maxTotal, minReady = max(maxTotal, s.total), min(minReady, s.ready)
	}
	t.Logf("observed at most %d pods and at least %d ready", maxTotal, minReady)
	if maxTotal > 13 || minReady < 8 {
		t.Errorf("10 replicas at 25%%/25%%: observed up to %d pods (max 13) and down to %d ready (min 8)", maxTotal, minReady)
	}
	if !strings.Contains(errs, "deployment.apps/web: 10/10 updated, 10 ready, 10 available") {
		t.Errorf("no final progress line in:\n%s", errs)
	}
}

func TestRolloutNeverReadyExitsAtDeadline(t *testing.T) {
	e := newRolloutEnv(t)
	e.commit("v1", rolling25, readyProbe, 600)
	if code, errs := e.kgit("sync"); code != 0 {
		t.Fatalf("sync v1: exit %d\n%s", code, errs)
	}
	e.commit("v2", rolling25, neverReady, 3)
	start := time.Now()
	code, errs := e.kgit("sync", "--timeout", "60s")
	if code != 4 {
		t.Fatalf("sync of a version that never becomes ready: exit %d, want 4\n%s", code, errs)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("took %s: it should stop at the 3 s progress deadline, not the 60 s timeout", time.Since(start))
	}
	for _, want := range []string{`deployment "web" exceeded its progress deadline (3s)`, "0 of 10 updated pods available", "Readiness probe failed", "not ready yet"} {
		if !strings.Contains(errs, want) {
			t.Errorf("error output lacks %q:\n%s", want, errs)
		}
	}
	b := process.New(e.root, "")
	pods, _ := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "roll"})
	oldReady := 0
	for _, p := range pods {
		if strings.HasSuffix(p.Spec.Containers[0].Image, ":v1") && p.Status.Ready {
			oldReady++
		}
	}
	if oldReady < 8 {
		t.Errorf("%d old pods ready after the failed rollout, want at least 8", oldReady)
	}
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"events", "--app", "roll"}, &out, &errb); code != 0 {
		t.Fatalf("events: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"ProgressDeadlineExceeded", "Unhealthy", "Readiness probe failed", "ScalingReplicaSet"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("kgit events lacks %q:\n%s", want, out.String())
		}
	}
	// rollout status agrees, and so does the next (cron) sync of the same commit
	if code, _ := e.kgit("rollout", "status", "deploy/web"); code != 4 {
		t.Errorf("rollout status: exit %d, want 4", code)
	}
	if code, errs := e.kgit("sync", "--timeout", "60s"); code != 4 {
		t.Errorf("a second sync of the broken commit: exit %d, want 4\n%s", code, errs)
	}
}

func TestAutoRollback(t *testing.T) {
	e := newRolloutEnv(t)
	e.commit("v1", rolling25, readyProbe, 600)
	if code, errs := e.kgit("sync"); code != 0 {
		t.Fatalf("sync v1: exit %d\n%s", code, errs)
	}
	e.commit("v2", rolling25, neverReady, 3)
	code, errs := e.kgit("sync", "--auto-rollback", "--timeout", "60s")
	if code != 4 {
		t.Fatalf("sync --auto-rollback: exit %d, want 4\n%s", code, errs)
	}
	if !strings.Contains(errs, `Rolled back deployment "web" to revision 1`) {
		t.Errorf("no rollback line in:\n%s", errs)
	}
	b := process.New(e.root, "")
	pods, _ := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "roll"})
	v1Ready := 0
	for _, p := range pods {
		if !strings.HasSuffix(p.Spec.Containers[0].Image, ":v1") {
			t.Errorf("pod %s of %s left after the rollback", p.Name, p.Spec.Containers[0].Image)
		} else if p.Status.Ready {
			v1Ready++
		}
	}
	if v1Ready != 10 {
		t.Errorf("%d v1 pods ready after the rollback, want 10", v1Ready)
	}
	// the rollback is an override: a cron sync of the same broken commit keeps it
	code, errs = e.kgit("sync", "--timeout", "60s")
	if code != 0 || !strings.Contains(errs, "kept rolled back") {
		t.Errorf("sync after the auto-rollback: exit %d, want 0 and the override kept:\n%s", code, errs)
	}
}

func TestRecreateNeverOverlaps(t *testing.T) {
	samples, _ := rollWatched(t, recreateStr)
	sawV2 := false
	for _, s := range samples {
		if s.v1 > 0 && s.v2 > 0 {
			t.Fatalf("old and new pods ran at once: %+v", s)
		}
		sawV2 = sawV2 || s.v2 > 0
	}
	if !sawV2 {
		t.Error("the watcher never saw the new pods")
	}
}
