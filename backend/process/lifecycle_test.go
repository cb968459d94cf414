//go:build linux

package process

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/manifest"
)

func execHook(script string) *manifest.LifecycleHandler {
	return &manifest.LifecycleHandler{Exec: &manifest.ExecAction{Command: []string{"sh", "-c", script}}}
}

// A postStart hook gates the container: it is not Running, and the pod not ready,
// until the hook has succeeded.
func TestPostStartGatesReadiness(t *testing.T) {
	b := newBackend(t)
	dir := t.TempDir()
	spec := podSpec("hooked", "Always", 5, "sleep 3600")
	spec.Spec.Containers[0].Lifecycle = &manifest.Lifecycle{PostStart: execHook(
		"touch " + dir + "/hooking; while [ ! -f " + dir + "/go ]; do sleep 0.05; done")}
	p, err := b.CreatePod(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "hooking")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the postStart hook never ran")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a supervisor that did not wait for the hook has written Running by now
	p, err = b.readPod(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Status.Containers[0]; p.Status.Ready || c.State != backend.StateWaiting || p.Status.Phase != backend.PodPending {
		t.Fatalf("while postStart runs: phase %s ready %v container %+v", p.Status.Phase, p.Status.Ready, c)
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p.ID, "ready after its postStart hook", func(p *backend.Pod) bool {
		return p.Status.Ready && p.Status.Containers[0].State == backend.StateRunning
	})
}

// A failing postStart hook kills the container, which its restart policy (Never) leaves
// dead, and says why in the termination.
func TestPostStartFailureKills(t *testing.T) {
	b := newBackend(t)
	spec := podSpec("badhook", "Never", 1, "sleep 3600")
	spec.Spec.Containers[0].Lifecycle = &manifest.Lifecycle{PostStart: execHook("echo nope; exit 3")}
	p, err := b.CreatePod(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	p = waitFor(t, b, p.ID, "failed", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodFailed })
	c := p.Status.Containers[0]
	if c.LastTermination == nil || !strings.HasPrefix(c.LastTermination.Message, backend.PostStartHookError) || !strings.Contains(c.LastTermination.Message, "nope") {
		t.Fatalf("termination %+v", c.LastTermination)
	}
}

// A preStop hook runs before the termination signal, within the grace period.
func TestPreStopBeforeSignal(t *testing.T) {
	b := newBackend(t)
	log := filepath.Join(t.TempDir(), "order")
	spec := podSpec("stopper", "Always", 10, `trap "echo sigterm >> `+log+`; exit 0" TERM; touch `+log+`; while true; do sleep 0.05; done`)
	spec.Spec.Containers[0].Lifecycle = &manifest.Lifecycle{PreStop: execHook("sleep 0.3; echo prestop >> " + log)}
	p, err := b.CreatePod(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p.ID, "running", func(p *backend.Pod) bool { return p.Status.Ready })
	for _, err := os.Stat(log); err != nil; _, err = os.Stat(log) {
		time.Sleep(20 * time.Millisecond) // the trap is set
	}
	if err := b.DeletePod(context.Background(), p.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(log)
	if string(got) != "prestop\nsigterm\n" {
		t.Fatalf("order of preStop and SIGTERM: %q", got)
	}
}

// A grpc readiness probe: ready while the app's health service answers SERVING, not
// ready while it answers NOT_SERVING.
func TestGRPCReadiness(t *testing.T) {
	b := newBackend(t)
	dir := t.TempDir()
	app := backendtest.BuildTestApp(t, dir)
	unhealthy := filepath.Join(dir, "unhealthy")
	service := "testapp"
	spec := podSpec("grpc", "Always", 1, "")
	c := &spec.Spec.Containers[0]
	c.Command = []string{app, "serve", "$(POD_IP):8080"}
	c.Env = []manifest.EnvVar{{Name: "UNHEALTHY", Value: unhealthy}}
	c.ReadinessProbe = &manifest.Probe{GRPC: &manifest.GRPCAction{Port: 8080, Service: &service}, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1}
	p, err := b.CreatePod(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p.ID, "ready", func(p *backend.Pod) bool { return p.Status.Ready })
	if err := os.WriteFile(unhealthy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p = waitFor(t, b, p.ID, "unready", func(p *backend.Pod) bool { return !p.Status.Ready })
	if msg := p.Status.Containers[0].Message; msg != `Readiness probe failed: service unhealthy (responded with "NOT_SERVING")` {
		t.Fatalf("message %q", msg)
	}
}
