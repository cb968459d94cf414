//go:build linux

package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe/probetls"
	"kgit.dev/kgit/manifest"
)

// TestMain lets the test binary serve as kgit's supervisor: the backend starts
// "kgit __supervise --root R ID" from its exe, which here is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "__httpserver" {
		serveHTTP(os.Args[2])
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "__lockandexit" {
		lockAndExit(os.Args[2])
		return
	}
	if code, ok := Hidden(os.Args[1:], os.Stderr, probetls.Handshake); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// lockAndExit takes the file lock on path, starts a child that inherits the locked file
// for half a second, and exits: the lock outlives its taker, as it does when kgit is
// killed while a child it forked has not yet exec'ed.
func lockAndExit(path string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	}
	if err == nil {
		child := exec.Command("sleep", "0.5")
		child.ExtraFiles = []*os.File{f}
		err = child.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serveHTTP is a test container: /healthz answers 200 while the file named by $HEALTH
// exists, 503 otherwise.
func serveHTTP(addr string) {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(os.Getenv("HEALTH")); err != nil {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	fmt.Println("listening on", addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func newBackend(t *testing.T) *Backend {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b := New(t.TempDir(), exe)
	t.Cleanup(func() {
		pods, _ := b.ListPods(context.Background(), nil)
		for _, p := range pods {
			_ = b.DeletePod(context.Background(), p.ID, 0)
		}
	})
	return b
}

func podSpec(name, policy string, grace int64, script string) backend.PodSpec {
	return backend.PodSpec{Name: name, Namespace: "default", Labels: map[string]string{"test": name, "kgit.dev/app": "t"},
		Spec: manifest.PodSpec{RestartPolicy: policy, TerminationGracePeriodSeconds: &grace,
			Containers: []manifest.Container{{Name: "main", Image: "x", Command: []string{"sh", "-c", script}}}}}
}

// waitFor polls a pod until cond holds, or fails the test after 15 s.
func waitFor(t *testing.T, b *Backend, id string, what string, cond func(*backend.Pod) bool) *backend.Pod {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, err := b.readPod(id)
		if err == nil && cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s never %s: %+v (err %v)", id, what, p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCreateListLogsDelete(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	p, err := b.CreatePod(ctx, podSpec("web", "Always", 30, "echo hello from $POD_NAME; sleep 3600"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Status.PodIP, "127.") {
		t.Errorf("pod IP %q is not a loopback address", p.Status.PodIP)
	}
	p = waitFor(t, b, p.ID, "ready", func(p *backend.Pod) bool { return p.Status.Ready })
	if p.Status.Phase != backend.PodRunning || p.Status.Containers[0].State != backend.StateRunning {
		t.Errorf("status %+v, want Running", p.Status)
	}
	if _, err := b.CreatePod(ctx, podSpec("web", "Always", 30, "true")); !errors.Is(err, backend.ErrAlreadyExists) {
		t.Errorf("second pod with the same name: %v, want ErrAlreadyExists", err)
	}
	other, err := b.CreatePod(ctx, podSpec("other", "Always", 30, "sleep 3600"))
	if err != nil {
		t.Fatal(err)
	}
	if other.Status.PodIP == p.Status.PodIP {
		t.Errorf("two pods share the address %s", p.Status.PodIP)
	}
	pods, err := b.ListPods(ctx, map[string]string{"test": "web"})
	if err != nil || len(pods) != 1 || pods[0].Name != "web" {
		t.Fatalf("ListPods(test=web) = %v, %v", pods, err)
	}
	var buf bytes.Buffer
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "hello from web") && time.Now().Before(deadline) {
		buf.Reset()
		if err := b.Logs(ctx, p.ID, "main", backend.LogOptions{Tail: -1}, &buf); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if buf.String() != "hello from web\n" {
		t.Errorf("logs = %q", buf.String())
	}
	var st statusFile
	if err := readStatus(b.podDir(p.ID), &st); err != nil {
		t.Fatal(err)
	}
	proc := st.Procs["main"]
	if err := b.DeletePod(ctx, p.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if proc.Alive() {
		t.Errorf("container process %d outlived its pod", proc.PID)
	}
	if _, err := b.readPod(p.ID); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("deleted pod still readable: %v", err)
	}
}

// A container that ignores SIGTERM is killed once the grace period is over, and so is
// everything in its process group.
func TestDeleteKillsAfterGrace(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	p, err := b.CreatePod(ctx, podSpec("stubborn", "Always", 1, `trap "" TERM; sleep 3600 & sleep 3600; wait`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p.ID, "ready", func(p *backend.Pod) bool { return p.Status.Ready })
	var st statusFile
	if err := readStatus(b.podDir(p.ID), &st); err != nil {
		t.Fatal(err)
	}
	group := st.Procs["main"].PID
	if err := b.DeletePod(ctx, p.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if n := groupMembers(group); n > 0 {
		t.Errorf("process group %d still has %d live processes after delete", group, n)
	}
}

// groupMembers counts the live (not zombie) processes of a process group; a killed
// process may stay a zombie until init reaps it, which is not kgit's to wait for.
func groupMembers(pgid int) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 2 && f[2] == fmt.Sprint(pgid) && f[0] != "Z" && f[0] != "X" {
			n++
		}
	}
	return n
}

func TestRestartPolicies(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	never, err := b.CreatePod(ctx, podSpec("never", "Never", 1, "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	onFailure, err := b.CreatePod(ctx, podSpec("onfailure", "OnFailure", 1, "exit 0"))
	if err != nil {
		t.Fatal(err)
	}
	always, err := b.CreatePod(ctx, podSpec("always", "Always", 1, "exit 7"))
	if err != nil {
		t.Fatal(err)
	}
	p := waitFor(t, b, never.ID, "failed", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodFailed })
	if c := p.Status.Containers[0]; c.ExitCode != 3 || c.RestartCount != 0 || c.Reason != "Error" {
		t.Errorf("Never: container %+v, want exit 3, no restart", c)
	}
	p = waitFor(t, b, onFailure.ID, "succeeded", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodSucceeded })
	if c := p.Status.Containers[0]; c.Reason != "Completed" || c.RestartCount != 0 {
		t.Errorf("OnFailure after exit 0: container %+v", c)
	}
	// Always: restarted at once, then held in CrashLoopBackOff for 10 s.
	p = waitFor(t, b, always.ID, "in back-off", func(p *backend.Pod) bool { return p.Status.Containers[0].Reason == "CrashLoopBackOff" })
	if c := p.Status.Containers[0]; c.RestartCount != 1 || c.LastTermination == nil || c.LastTermination.ExitCode != 7 || p.Status.Phase != backend.PodRunning || p.Status.Ready {
		t.Errorf("Always: pod %+v container %+v, want Running, not ready, 1 restart, last exit 7", p.Status, c)
	}
}

func TestContainerWithoutCommand(t *testing.T) {
	b := newBackend(t)
	spec := podSpec("nocmd", "Always", 1, "")
	spec.Spec.Containers[0].Command = nil
	if _, err := b.CreatePod(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "has no command") {
		t.Fatalf("CreatePod without command: %v", err)
	}
}

func TestProcIdentity(t *testing.T) {
	self, err := identify(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !self.Alive() {
		t.Error("this process is not alive")
	}
	if (Proc{PID: self.PID, Start: self.Start + 1}).Alive() {
		t.Error("a recycled PID (other start time) counts as alive")
	}
}

func TestCappedLogRotates(t *testing.T) {
	dir := t.TempDir()
	files := containerLogs(dir, "c")
	l, err := openLog(files, false)
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	for range (3 * MaxLogBytes) / len(line) {
		if _, err := l.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	for _, f := range []string{files.current, files.rotated} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > MaxLogBytes {
			t.Errorf("%s is %d bytes, over the cap of %d", f, st.Size(), MaxLogBytes)
		}
	}
	if got := tail([]byte("a\nb\nc\n"), 2); string(got) != "b\nc\n" {
		t.Errorf("tail 2 = %q", got)
	}
}

func defaulted(p manifest.Probe) *manifest.Probe {
	manifest.DefaultPodSpec(&manifest.PodSpec{Containers: []manifest.Container{{ReadinessProbe: &p}}})
	return &p
}

// Readiness follows an HTTP probe against the pod's own address, both ways; the
// container is not restarted for it.
func TestReadinessProbeHTTP(t *testing.T) {
	b := newBackend(t)
	exe, _ := os.Executable()
	health := filepath.Join(t.TempDir(), "healthy")
	spec := podSpec("web", "Always", 1, "")
	c := &spec.Spec.Containers[0]
	c.Command = []string{exe, "__httpserver", "$(POD_IP):8080"}
	c.Env = []manifest.EnvVar{{Name: "HEALTH", Value: health}}
	c.Ports = []manifest.ContainerPort{{Name: "http", ContainerPort: 8080}}
	c.ReadinessProbe = defaulted(manifest.Probe{HTTPGet: &manifest.HTTPGetAction{Path: "/healthz", Port: manifest.FromString("http")},
		PeriodSeconds: 1, FailureThreshold: 1})
	p, err := b.CreatePod(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	p = waitFor(t, b, p.ID, "running and failing readiness", func(p *backend.Pod) bool {
		return p.Status.Phase == backend.PodRunning && strings.Contains(p.Status.Containers[0].Message, "HTTP probe failed with statuscode: 503")
	})
	if p.Status.Ready {
		t.Fatal("ready while the readiness probe fails")
	}
	if err := os.WriteFile(health, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p.ID, "ready", func(p *backend.Pod) bool { return p.Status.Ready })
	os.Remove(health)
	p = waitFor(t, b, p.ID, "unready again", func(p *backend.Pod) bool { return !p.Status.Ready })
	if n := p.Status.Containers[0].RestartCount; n != 0 {
		t.Errorf("a readiness failure restarted the container (%d restarts)", n)
	}
}

// A failing liveness probe restarts the container; a startup probe holds liveness and
// readiness back until it passes.
func TestLivenessAndStartupProbes(t *testing.T) {
	b := newBackend(t)
	dir := t.TempDir()
	alive, started := filepath.Join(dir, "alive"), filepath.Join(dir, "started")
	spec := podSpec("live", "Always", 1, "touch "+alive+"; sleep 3600")
	c := &spec.Spec.Containers[0]
	c.StartupProbe = defaulted(manifest.Probe{Exec: &manifest.ExecAction{Command: []string{"test", "-f", started}}, PeriodSeconds: 1, FailureThreshold: 30})
	c.LivenessProbe = defaulted(manifest.Probe{Exec: &manifest.ExecAction{Command: []string{"test", "-f", alive}}, PeriodSeconds: 1, FailureThreshold: 2})
	p, err := b.CreatePod(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p.ID, "running", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodRunning })
	time.Sleep(1500 * time.Millisecond)
	os.Remove(alive) // liveness would fail now, but the startup probe has not passed
	time.Sleep(2500 * time.Millisecond)
	p, _ = b.readPod(p.ID)
	if c := p.Status.Containers[0]; c.Started || p.Status.Ready || c.RestartCount != 0 {
		t.Fatalf("before the startup probe passed: %+v (ready %v)", c, p.Status.Ready)
	}
	if err := os.WriteFile(started, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// started, then liveness fails twice (the file is gone) and the container restarts
	p = waitFor(t, b, p.ID, "restarted by liveness", func(p *backend.Pod) bool { return p.Status.Containers[0].RestartCount == 1 })
	last := p.Status.Containers[0].LastTermination
	if last == nil || last.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("last termination %+v, want SIGTERM's exit code", last)
	}
	waitFor(t, b, p.ID, "ready after the restart", func(p *backend.Pod) bool { return p.Status.Ready })
}
