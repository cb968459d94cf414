// Package backendtest is the behaviour every kgit backend shows: create, list by
// labels, status and readiness, restart per policy, delete with grace, logs, records,
// the lock, and a fresh kgit reading the same truth back. Adding a backend means
// passing Run.
package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// Harness is what Run needs of a backend.
type Harness struct {
	// New returns a backend; called more than once, every value must see the same pods.
	New func(t *testing.T) backend.Backend
	// Container returns a container that runs the test app (testdata/testapp) with args.
	Container func(args ...string) manifest.Container
	// RunsProcesses is false for the memory backend: nothing runs, so logs, restarts and
	// probes are not checked.
	RunsProcesses bool
	// Timeout bounds each wait (default 30 s).
	Timeout time.Duration
	// App names the suite's app (default: a random one).
	App string
	// StopBehindBack stops a running pod's containers the way a user would by hand
	// (docker stop); needed by backends that declare Tends.
	StopBehindBack func(t *testing.T, p *backend.Pod)
	// Exec returns the command that runs the test app with args inside a container
	// (its path there); needed by backends that declare Execs.
	Exec func(args ...string) []string
	// RoutesElsewhere: routing starts kgit's own binary as the proxy, which a test binary
	// is not; the CLI's tests route this backend's Services instead.
	RoutesElsewhere bool
}

// BuildTestApp builds the static test program into dir and returns its path.
func BuildTestApp(t testing.TB, dir string) string {
	return Build(t, dir, "testdata/testapp", "CGO_ENABLED=0")
}

// Build builds the main package at pkg (a folder from the repository's root, such as
// cmd/kgit-supervisor) into dir, with env added to the build's environment, and returns
// the program's path.
func Build(t testing.TB, dir, pkg string, env ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "..", filepath.FromSlash(pkg))
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	if h.Timeout == 0 {
		h.Timeout = 30 * time.Second
	}
	if h.App == "" {
		h.App = fmt.Sprintf("conf-%d", rand.IntN(1e9))
	}
	s := &suite{h: h, b: h.New(t), app: h.App}
	t.Cleanup(func() { s.cleanup() })
	t.Run("CreateListDelete", s.createListDelete)
	t.Run("Records", s.records)
	t.Run("Lock", s.lock)
	t.Run("FreshViewAfterCrash", s.freshView)
	t.Run("Capabilities", s.capabilities)
	t.Run("Unhonoured", s.unhonoured)
	if s.b.Capabilities().Routes && !h.RoutesElsewhere {
		t.Run("Routes", s.routes)
	}
	if !h.RunsProcesses {
		return
	}
	if s.b.Capabilities().Isolated {
		t.Run("Isolated", s.isolated)
	}
	if s.b.Capabilities().MarksTerminating {
		t.Run("MarkTerminating", s.markTerminating)
	}
	if s.b.Capabilities().Tends {
		t.Run("TendRestartsStoppedContainer", s.tendStopped)
	}
	t.Run("Logs", s.logs)
	if s.b.Capabilities().Execs && s.h.Exec != nil {
		t.Run("Exec", s.exec)
	}
	if s.b.Capabilities().Forwards {
		t.Run("DialPod", s.dialPod)
	}
	if s.b.Capabilities().Meters {
		t.Run("Measure", s.measure)
	}
	t.Run("RestartPolicies", s.restartPolicies)
	t.Run("DeleteWithGrace", s.deleteWithGrace)
	t.Run("ReadinessProbe", s.readiness)
}

type suite struct {
	h   Harness
	b   backend.Backend
	app string
}

func (s *suite) cleanup() {
	ctx := context.Background()
	pods, _ := s.b.ListPods(ctx, map[string]string{backend.LabelApp: s.app})
	for _, p := range pods {
		_ = s.b.DeletePod(ctx, p.ID, 0)
	}
	recs, _ := s.b.ListRecords(ctx, map[string]string{backend.LabelApp: s.app})
	for _, r := range recs {
		_ = s.b.DeleteRecord(ctx, r)
	}
}

func (s *suite) spec(name, policy string, grace int64, args ...string) backend.PodSpec {
	c := s.h.Container(args...)
	c.Name = "main"
	ps := manifest.PodSpec{RestartPolicy: policy, TerminationGracePeriodSeconds: &grace, Containers: []manifest.Container{c}}
	manifest.DefaultPodSpec(&ps)
	return backend.PodSpec{Name: name, Namespace: "default", Spec: ps, Labels: map[string]string{
		backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: s.app, "test-pod": name}}
}

func (s *suite) create(t *testing.T, spec backend.PodSpec) *backend.Pod {
	t.Helper()
	p, err := s.b.CreatePod(context.Background(), spec)
	if err != nil {
		t.Fatalf("CreatePod %s: %v", spec.Name, err)
	}
	t.Cleanup(func() { _ = s.b.DeletePod(context.Background(), p.ID, 0) })
	return p
}

// waitFor lists the pod until cond holds.
func (s *suite) waitFor(t *testing.T, name, what string, cond func(*backend.Pod) bool) *backend.Pod {
	t.Helper()
	deadline := time.Now().Add(s.h.Timeout)
	var last *backend.Pod
	for time.Now().Before(deadline) {
		pods, err := s.b.ListPods(context.Background(), map[string]string{backend.LabelApp: s.app, "test-pod": name})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods) == 1 {
			last = pods[0]
			if cond(last) {
				return last
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pod %s never %s; last seen: %+v", name, what, last)
	return nil
}

func (s *suite) createListDelete(t *testing.T) {
	ctx := context.Background()
	p := s.create(t, s.spec("web", "Always", 5, "sleep"))
	if p.Name != "web" || p.Namespace != "default" || p.Labels["test-pod"] != "web" {
		t.Errorf("created pod %+v lost its name or labels", p.PodSpec)
	}
	if _, err := s.b.CreatePod(ctx, s.spec("web", "Always", 5, "sleep")); !errors.Is(err, backend.ErrAlreadyExists) {
		t.Errorf("a second pod of the same name: %v, want ErrAlreadyExists", err)
	}
	s.waitFor(t, "web", "running and ready", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodRunning && p.Status.Ready })
	for sel, want := range map[string]int{"web": 1, "other": 0} {
		pods, err := s.b.ListPods(ctx, map[string]string{backend.LabelApp: s.app, "test-pod": sel})
		if err != nil || len(pods) != want {
			t.Errorf("ListPods(test-pod=%s) = %d pods, %v; want %d", sel, len(pods), err, want)
		}
	}
	if err := s.b.DeletePod(ctx, p.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if pods, _ := s.b.ListPods(ctx, map[string]string{backend.LabelApp: s.app, "test-pod": "web"}); len(pods) != 0 {
		t.Errorf("%d pods left after DeletePod", len(pods))
	}
}

func (s *suite) records(t *testing.T) {
	ctx := context.Background()
	r := backend.Record{Kind: "Deployment", Namespace: "default", Name: "web", Created: time.Now().UTC().Truncate(time.Second),
		Labels: map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: s.app, backend.LabelCommit: "abc"},
		Data:   []byte(`{"v":1}`)}
	if err := s.b.PutRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Data, r.Status = []byte(`{"v":2}`), []byte(`{"ready":3}`)
	if err := s.b.PutRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.b.ListRecords(ctx, map[string]string{backend.LabelApp: s.app})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListRecords = %d records, %v; want 1", len(got), err)
	}
	g := got[0]
	if string(g.Data) != `{"v":2}` || string(g.Status) != `{"ready":3}` || g.Labels[backend.LabelCommit] != "abc" || !g.Created.Equal(r.Created) || g.Name != "web" || g.Kind != "Deployment" {
		t.Errorf("record read back as %+v", g)
	}
	if other, _ := s.b.ListRecords(ctx, map[string]string{backend.LabelApp: s.app + "-other"}); len(other) != 0 {
		t.Errorf("another app's selector found %d records", len(other))
	}
	if err := s.b.DeleteRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.b.ListRecords(ctx, map[string]string{backend.LabelApp: s.app}); len(got) != 0 {
		t.Errorf("%d records left after DeleteRecord", len(got))
	}
}

func (s *suite) lock(t *testing.T) {
	ctx := context.Background()
	release, err := s.b.Lock(ctx, s.app, 0)
	if err != nil {
		t.Fatal(err)
	}
	other := s.h.New(t)
	_, err = other.Lock(ctx, s.app, 300*time.Millisecond)
	var locked *backend.LockedError
	if !errors.As(err, &locked) || locked.Holder == "" {
		t.Fatalf("a second lock: %v, want a LockedError naming the holder", err)
	}
	release()
	release2, err := other.Lock(ctx, s.app, time.Second)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	release2()
}

// freshView: a new backend value (a new kgit process, another machine) sees the pods.
func (s *suite) freshView(t *testing.T) {
	p := s.create(t, s.spec("seen", "Always", 5, "sleep"))
	pods, err := s.h.New(t).ListPods(context.Background(), map[string]string{backend.LabelApp: s.app, "test-pod": "seen"})
	if err != nil || len(pods) != 1 || pods[0].ID != p.ID || pods[0].UID != p.UID {
		t.Fatalf("a fresh backend sees %d pods (%v), want the one created", len(pods), err)
	}
}

// logs checks a pod's log, each line's time with Timestamps (RFC 3339, as kubectl
// prints it), and that Since leaves out the lines written before it.
func (s *suite) logs(t *testing.T) {
	p := s.create(t, s.spec("talker", "Always", 5, "sleep"))
	s.waitGreeting(t, p)
	read := func(opts backend.LogOptions) string {
		var buf bytes.Buffer
		opts.Tail = -1
		if err := s.b.Logs(context.Background(), p.ID, "main", opts, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	stamp, text, _ := strings.Cut(read(backend.LogOptions{Timestamps: true}), " ")
	if at, err := time.Parse(time.RFC3339Nano, stamp); err != nil || !strings.HasPrefix(text, "hello from "+p.Name) || time.Since(at) < 0 {
		t.Errorf("logs with timestamps: %q %q, want an RFC 3339 time then the greeting", stamp, text)
	}
	if got := read(backend.LogOptions{Since: time.Now().Add(time.Hour)}); got != "" {
		t.Errorf("logs since a later time: %q, want none", got)
	}
	if got := read(backend.LogOptions{Since: time.Now().Add(-time.Hour)}); !strings.HasPrefix(got, "hello from "+p.Name) {
		t.Errorf("logs since an hour ago: %q, want the greeting", got)
	}
}

// measure checks that a running container's use is measured: some resident memory.
func (s *suite) measure(t *testing.T) {
	m, _ := backend.MeterOf(s.b)
	p := s.create(t, s.spec("measured", "Always", 5, "sleep"))
	s.waitGreeting(t, p)
	p = s.waitFor(t, "measured", "running", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodRunning })
	use, err := m.Measure(context.Background(), []*backend.Pod{p})
	if err != nil {
		t.Fatal(err)
	}
	if u := use[p.ID]; len(u) != 1 || u[0].Container != "main" || u[0].MemoryBytes <= 0 || u[0].CPUMilli < 0 {
		t.Errorf("Measure = %+v, want the main container with its memory", use)
	}
}

// waitGreeting waits until the pod's log shows the test app's greeting, with its name.
func (s *suite) waitGreeting(t *testing.T, p *backend.Pod) {
	t.Helper()
	deadline := time.Now().Add(s.h.Timeout)
	var buf bytes.Buffer
	for time.Now().Before(deadline) {
		buf.Reset()
		if err := s.b.Logs(context.Background(), p.ID, "main", backend.LogOptions{Tail: -1}, &buf); err != nil && !errors.Is(err, backend.ErrNotFound) {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "hello from "+p.Name) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("logs = %q, want the pod's greeting with its POD_NAME", buf.String())
}

func (s *suite) restartPolicies(t *testing.T) {
	s.create(t, s.spec("never", "Never", 1, "exit", "3"))
	s.create(t, s.spec("onfailure", "OnFailure", 1, "exit", "0"))
	s.create(t, s.spec("always", "Always", 1, "exit", "1"))
	p := s.waitFor(t, "never", "failed", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodFailed })
	if c := p.Status.Containers[0]; c.ExitCode != 3 || c.RestartCount != 0 {
		t.Errorf("Never: container %+v, want exit code 3 and no restart", c)
	}
	s.waitFor(t, "onfailure", "succeeded", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodSucceeded })
	// Crashing again and again, it is restarted and then held back: between two runs it
	// waits in CrashLoopBackOff, still Running as a pod, and not ready.
	p = s.waitFor(t, "always", "restarted and in back-off", func(p *backend.Pod) bool {
		c := p.Status.Containers[0]
		return c.RestartCount >= 1 && c.State == backend.StateWaiting && c.Reason == "CrashLoopBackOff"
	})
	if p.Status.Ready || p.Status.Phase != backend.PodRunning || p.Status.Containers[0].LastTermination == nil || p.Status.Containers[0].LastTermination.ExitCode != 1 {
		t.Errorf("Always in back-off: %+v, want Running, not ready, last exit code 1", p.Status)
	}
}

func (s *suite) deleteWithGrace(t *testing.T) {
	p := s.create(t, s.spec("stubborn", "Always", 1, "ignore-term"))
	s.waitGreeting(t, p) // SIGTERM is ignored from then on
	start := time.Now()
	if err := s.b.DeletePod(context.Background(), p.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("a container that ignores SIGTERM was gone after %s, before its 1 s grace period", took)
	}
	if pods, _ := s.b.ListPods(context.Background(), map[string]string{backend.LabelApp: s.app, "test-pod": "stubborn"}); len(pods) != 0 {
		t.Errorf("pod still listed after DeletePod")
	}
}

func (s *suite) readiness(t *testing.T) {
	spec := s.spec("probed", "Always", 2, "serve")
	c := &spec.Spec.Containers[0]
	flag := filepath.Join(t.TempDir(), "unhealthy")
	c.Env = append(c.Env, manifest.EnvVar{Name: "UNHEALTHY", Value: flag})
	c.Ports = []manifest.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}}
	c.ReadinessProbe = &manifest.Probe{HTTPGet: &manifest.HTTPGetAction{Path: "/healthz", Port: manifest.FromString("http")}, PeriodSeconds: 1}
	manifest.DefaultPodSpec(&spec.Spec)
	s.create(t, spec)
	s.waitFor(t, "probed", "ready through its HTTP readiness probe", func(p *backend.Pod) bool { return p.Status.Ready })
}

// capabilities checks that what a backend declares matches what it implements.
func (s *suite) capabilities(t *testing.T) {
	c := s.b.Capabilities()
	_, router := s.b.(backend.Router)
	_, terminator := s.b.(backend.Terminator)
	_, tender := s.b.(backend.Tender)
	_, execer := s.b.(backend.Execer)
	_, forwarder := s.b.(backend.PortForwarder)
	_, meter := s.b.(backend.Meter)
	for _, x := range []struct {
		name             string
		declared, builds bool
	}{{"Routes/Router", c.Routes, router}, {"MarksTerminating/Terminator", c.MarksTerminating, terminator}, {"Tends/Tender", c.Tends, tender},
		{"Execs/Execer", c.Execs, execer}, {"Forwards/PortForwarder", c.Forwards, forwarder}, {"Meters/Meter", c.Meters, meter}} {
		if x.declared && !x.builds {
			t.Errorf("%s: declared but not implemented", x.name)
		}
	}
	if c.Execs && s.h.Exec == nil && s.h.RunsProcesses {
		t.Errorf("the backend declares Execs: the harness must say how to run the test app in a container")
	}
	if c.Tends && s.h.StopBehindBack == nil && s.h.RunsProcesses {
		t.Errorf("the backend declares Tends: the harness must say how to stop a container behind its back")
	}
}

// routes checks that a Service gets an address that it keeps, is listed by its labels,
// and goes on Unroute.
func (s *suite) routes(t *testing.T) {
	ctx := context.Background()
	router, _ := backend.RouterOf(s.b)
	svc := backend.Service{Name: "conf-svc", Namespace: "default",
		Labels: map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: s.app},
		Spec:   manifest.ServiceSpec{Type: "ClusterIP", Selector: map[string]string{"test-pod": "none"}, Ports: []manifest.ServicePort{{Port: 8080, Protocol: "TCP", TargetPort: manifest.IntOrString{IntVal: 8080}}}}}
	got, err := router.Route(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Unroute(context.Background(), "default", "conf-svc") })
	if got.ClusterIP == "" {
		t.Errorf("a routed ClusterIP Service has no address")
	}
	again, err := router.Route(ctx, svc)
	if err != nil || again.ClusterIP != got.ClusterIP {
		t.Errorf("routing again moved the address from %s to %s (%v)", got.ClusterIP, again.ClusterIP, err)
	}
	listed, err := router.Routes(ctx, map[string]string{backend.LabelApp: s.app})
	if err != nil || len(listed) != 1 || listed[0].Name != "conf-svc" || listed[0].ClusterIP != got.ClusterIP {
		t.Errorf("Routes = %+v, %v; want conf-svc at %s", listed, err, got.ClusterIP)
	}
	if err := router.Unroute(ctx, "default", "conf-svc"); err != nil {
		t.Fatal(err)
	}
	if listed, _ := router.Routes(ctx, map[string]string{backend.LabelApp: s.app}); len(listed) != 0 {
		t.Errorf("%d routes left after Unroute", len(listed))
	}
}

// markTerminating checks that a marked pod is reported terminating by every reader.
func (s *suite) markTerminating(t *testing.T) {
	p := s.create(t, s.spec("marked", "Always", 1, "sleep"))
	term, _ := backend.TerminatorOf(s.b)
	before := time.Now().Add(-time.Second) // file times may be coarser than the clock
	if err := term.MarkTerminating(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	fresh := s.h.New(t)
	pods, err := fresh.ListPods(context.Background(), map[string]string{backend.LabelApp: s.app, "test-pod": "marked"})
	if err != nil || len(pods) != 1 || !pods[0].Status.Terminating || pods[0].Status.Active() {
		t.Fatalf("after MarkTerminating a fresh reader sees %+v, %v; want one terminating pod", pods, err)
	}
	// When it was marked is kept (it is the pod's deletionTimestamp), and stays put.
	since := pods[0].Status.TerminatingSince
	if since.Before(before) || since.After(time.Now()) {
		t.Errorf("TerminatingSince %v, want the time of the mark (after %v)", since, before)
	}
	again, err := fresh.ListPods(context.Background(), map[string]string{backend.LabelApp: s.app, "test-pod": "marked"})
	if err != nil || len(again) != 1 || !again[0].Status.TerminatingSince.Equal(since) {
		t.Errorf("a second listing: %+v, %v; want TerminatingSince %v again", again, err, since)
	}
}

// tendStopped checks that a container stopped by hand stays stopped through listings
// (a read changes nothing) and runs again after Tend, as the kubelet would restart it.
func (s *suite) tendStopped(t *testing.T) {
	s.create(t, s.spec("tended", "Always", 1, "sleep"))
	p := s.waitFor(t, "tended", "running", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodRunning && p.Status.Ready })
	s.h.StopBehindBack(t, p)
	p = s.waitFor(t, "tended", "stopped", func(p *backend.Pod) bool { return p.Status.Containers[0].State == backend.StateTerminated })
	time.Sleep(500 * time.Millisecond)
	p = s.waitFor(t, "tended", "still stopped after listings", func(p *backend.Pod) bool { return p.Status.Containers[0].State == backend.StateTerminated })
	tender, _ := backend.TenderOf(s.b)
	if err := tender.Tend(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "tended", "running again after Tend", func(p *backend.Pod) bool { return p.Status.Containers[0].State == backend.StateRunning })
}

// exec checks that a command runs in a running container with the pod's environment,
// reads the standard input it is given, and returns its exit code.
func (s *suite) exec(t *testing.T) {
	ctx := context.Background()
	e, _ := backend.ExecerOf(s.b)
	p := s.create(t, s.spec("exec", "Always", 5, "sleep"))
	p = s.waitFor(t, "exec", "running", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodRunning && p.Status.Ready })
	var out, errOut bytes.Buffer
	code, err := e.Exec(ctx, p, "main", backend.ExecOptions{Command: s.h.Exec("cat"), Stdin: strings.NewReader("typed in\n"), Stdout: &out, Stderr: &errOut})
	if err != nil || code != 0 {
		t.Fatalf("exec cat: code %d, %v (stderr %q)", code, err, errOut.String())
	}
	if want := "exec\ntyped in\n"; out.String() != want {
		t.Errorf("exec cat printed %q, want %q (POD_NAME, then its input)", out.String(), want)
	}
	out.Reset()
	code, err = e.Exec(ctx, p, "main", backend.ExecOptions{Command: s.h.Exec("exit", "7"), Stdout: &out, Stderr: &out})
	if err != nil || code != 7 {
		t.Errorf("exec exit 7: code %d, %v; want 7", code, err)
	}
	if _, err := e.Exec(ctx, p, "nosuch", backend.ExecOptions{Command: s.h.Exec("exit", "0"), Stdout: &out, Stderr: &out}); err == nil {
		t.Errorf("exec in a container that does not exist: no error")
	}
}

// dialPod checks that a pod's port is reached from the machine kgit runs on.
func (s *suite) dialPod(t *testing.T) {
	if !s.h.RunsProcesses {
		return
	}
	f, _ := backend.PortForwarderOf(s.b)
	s.create(t, s.spec("dial", "Always", 5, "serve"))
	p := s.waitFor(t, "dial", "ready", func(p *backend.Pod) bool { return p.Status.Ready && p.Status.PodIP != "" })
	deadline := time.Now().Add(s.h.Timeout)
	for {
		conn, err := f.DialPod(context.Background(), p, 8080)
		if err == nil {
			fmt.Fprintf(conn, "GET /pod HTTP/1.0\r\n\r\n")
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(conn)
			conn.Close()
			if !strings.Contains(buf.String(), "\r\n\r\ndial\n") {
				t.Errorf("GET /pod through DialPod: %q, want the pod's name", buf.String())
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("DialPod: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
