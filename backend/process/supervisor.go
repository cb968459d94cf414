//go:build linux

package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/manifest"
)

// Supervise runs one pod until it is told to stop (SIGTERM): it starts the containers,
// restarts them per restartPolicy with the kubelet's back-off, keeps their logs and
// writes the pod's status. It is the body of the hidden `__supervise` mode (see Hidden).
// tls secures HTTPS probes; nil in kgit-supervisor, which does not link it.
func Supervise(root, id string, tls probe.Handshake) error {
	// One pod's supervision waits on its processes and files; it never needs two
	// threads running Go at once. With one P the runtime wakes no second thread to
	// look for work each time a goroutine becomes runnable, which a hundred
	// supervisors on a small machine pay for in CPU.
	runtime.GOMAXPROCS(1)
	b := New(root, "")
	dir := b.podDir(id)
	var pf podFile
	if err := readJSON(filepath.Join(dir, "pod.json"), &pf); err != nil {
		return fmt.Errorf("supervise %s: %w", id, err)
	}
	s := &supervisor{root: root, dir: dir, pod: pf, stop: make(chan struct{}), tls: tls}
	s.all = append(append(s.all, pf.Spec.InitContainers...), pf.Spec.Containers...)
	s.nInit = len(pf.Spec.InitContainers)
	s.status.Phase = backend.PodPending
	s.status.PodIP = pf.PodIP
	s.status.StartTime = time.Now().UTC()
	s.status.Procs = map[string]Proc{}
	waiting := "ContainerCreating"
	if s.nInit > 0 {
		waiting = "PodInitializing"
	}
	for _, c := range pf.Spec.InitContainers {
		s.status.InitContainers = append(s.status.InitContainers, backend.ContainerStatus{Name: c.Name, State: backend.StateWaiting, Reason: waiting})
	}
	for _, c := range pf.Spec.Containers {
		s.status.Containers = append(s.status.Containers, backend.ContainerStatus{Name: c.Name, State: backend.StateWaiting, Reason: waiting})
	}
	// The supervisor records itself too, before its first status: the CLI that started it
	// may die before it does, and a reader that finds a status must find who writes it
	// (else the pod looks lost). A read costs less than the write, which the CLI has
	// mostly done already.
	if self, err := identify(os.Getpid()); err == nil {
		var rec Proc
		if path := filepath.Join(dir, "supervisor.json"); readJSON(path, &rec) != nil || rec != self {
			_ = writeJSON(path, self)
		}
	}
	s.write()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	orphaned := make(chan struct{})
	go watchFolder(dir, orphaned)
	if err := s.prepareVolumes(); err != nil {
		// The containers cannot start without their volumes: say why, until stopped.
		s.update(func(st *statusFile) {
			for i := range s.all {
				s.cs(st, i).Reason, s.cs(st, i).Message = "CreateContainerError", err.Error()
			}
		})
		select {
		case <-sigs:
		case <-orphaned:
		}
		return nil
	}
	var wg, sidecars sync.WaitGroup
	done := make(chan struct{})
	go func() {
		// Init containers first, in order, each to completion (a sidecar: until it has
		// started); then the app containers, together.
		if !s.runInit(&sidecars) {
			close(done)
			return
		}
		for i := s.nInit; i < len(s.all); i++ {
			wg.Add(1)
			go func() { defer wg.Done(); s.run(i) }()
		}
		wg.Wait()
		close(done)
	}()
	finished := false
	select {
	case <-sigs:
		s.shutdown()
		<-done
	case <-orphaned: // the pod was removed without us: nothing of it may keep running
		s.shutdown()
		<-done
		sidecars.Wait()
		return nil
	case <-done: // every container finished and will not restart
		finished = true
	}
	if finished && s.nInit > 0 {
		s.stopContainers(false) // the sidecars stop once the app containers have finished
	}
	sidecars.Wait()
	s.update(func(st *statusFile) { st.Done = true })
	return nil
}

// runInit runs the init containers in order: each regular one until it succeeds (tried
// again per the pod's restartPolicy: under Never a failure fails the pod), each sidecar
// started and kept running beside the others. It reports whether the app containers may
// start.
func (s *supervisor) runInit(sidecars *sync.WaitGroup) bool {
	for i := range s.nInit {
		c := &s.all[i]
		if backend.IsSidecar(c) {
			sidecars.Add(1)
			go func() { defer sidecars.Done(); s.run(i) }()
			for !s.containerStarted(i) {
				select {
				case <-s.stop:
					return false
				case <-time.After(50 * time.Millisecond):
				}
			}
			continue
		}
		s.run(i)
		s.mu.Lock()
		ok := s.status.InitContainers[i].State == backend.StateTerminated && s.status.InitContainers[i].ExitCode == 0
		s.mu.Unlock()
		if !ok || s.isStopping() {
			return false
		}
	}
	if s.nInit > 0 {
		s.update(func(st *statusFile) {
			for i := range st.Containers {
				st.Containers[i].Reason = "ContainerCreating"
			}
		})
	}
	return true
}

// cs is the status of container i of s.all: an init container's, else an app
// container's.
func (s *supervisor) cs(st *statusFile, i int) *backend.ContainerStatus {
	if i < s.nInit {
		return &st.InitContainers[i]
	}
	return &st.Containers[i-s.nInit]
}

// policy is how container i of s.all restarts.
func (s *supervisor) policy(i int) string {
	if i < s.nInit {
		return backend.InitRestartPolicy(s.pod.Spec.RestartPolicy, &s.all[i])
	}
	return s.pod.Spec.RestartPolicy
}

// orphanCheck is how often a supervisor looks for its pod's folder. kgit stops a pod's
// supervisor before it removes the folder, so this only catches a folder deleted behind
// kgit's back; every wake-up of an idle supervisor costs CPU, per pod.
const orphanCheck = 5 * time.Second

// watchFolder closes orphaned when the pod's folder is gone.
func watchFolder(dir string, orphaned chan struct{}) {
	for {
		time.Sleep(orphanCheck)
		if _, err := os.Stat(filepath.Join(dir, "pod.json")); errors.Is(err, fs.ErrNotExist) {
			close(orphaned)
			return
		}
	}
}

type supervisor struct {
	root string
	dir  string
	pod  podFile
	all  []manifest.Container // the init containers, then the app containers
	// nInit is how many of all are init containers; an index into all names a container
	// everywhere in the supervisor (see cs).
	nInit int
	stop  chan struct{} // closed when the pod is being deleted
	tls   probe.Handshake

	mu       sync.Mutex
	status   statusFile
	written  []byte // status.json as last written
	stopping bool
}

func (s *supervisor) update(f func(st *statusFile)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.status)
	s.status.Phase, s.status.Ready = backend.PodPhaseOf(&s.pod.Spec, s.status.InitContainers, s.status.Containers)
	if s.status.Ready && s.status.ReadySince.IsZero() {
		s.status.ReadySince = time.Now().UTC()
	} else if !s.status.Ready {
		s.status.ReadySince = time.Time{}
	}
	s.writeLocked()
}

func (s *supervisor) write() { s.mu.Lock(); s.writeLocked(); s.mu.Unlock() }

// writeLocked writes status.json when the status changed: a probe that keeps passing
// costs no write.
func (s *supervisor) writeLocked() {
	data, err := json.Marshal(s.status)
	if err == nil && bytes.Equal(data, s.written) {
		return
	}
	if err == nil {
		err = swapFile(filepath.Join(s.dir, "status.json"), data)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "write status: %v\n", err)
		return
	}
	s.written = data
}

func (s *supervisor) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// shutdown stops every container: SIGTERM to its process group, the grace period, then
// SIGKILL.
func (s *supervisor) shutdown() { s.stopContainers(true) }

// stopContainers stops every container that runs; deleting: the pod is being deleted
// (else only its sidecars are left, once its app containers have finished).
func (s *supervisor) stopContainers(deleting bool) {
	s.mu.Lock()
	s.stopping = true
	s.status.Stopping = deleting
	procs := make(map[string]Proc, len(s.status.Procs))
	for name, p := range s.status.Procs {
		procs[name] = p
	}
	s.writeLocked()
	s.mu.Unlock()
	close(s.stop)
	if deleting && servedBy(s.root, &s.pod) {
		time.Sleep(proxy.Drain) // the Services' proxies drop the pod before it stops
	}

	grace := s.podGrace()
	if b, err := os.ReadFile(filepath.Join(s.dir, "grace")); err == nil {
		if d, err := time.ParseDuration(string(b)); err == nil {
			grace = d
		}
	}
	// The preStop hooks run first and count against the grace period; SIGTERM follows.
	deadline := time.Now().Add(grace)
	var wg sync.WaitGroup
	for name, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kill := s.preStop(s.index(name), deadline)
			p.SignalGroup(syscall.SIGTERM)
			if !p.waitGone(time.Until(kill)) {
				p.SignalGroup(syscall.SIGKILL)
			}
		}()
	}
	wg.Wait()
}

// podGrace is the pod's terminationGracePeriodSeconds.
func (s *supervisor) podGrace() time.Duration {
	return time.Duration(*s.pod.Spec.TerminationGracePeriodSeconds) * time.Second
}

// run keeps one container going as its restartPolicy says.
func (s *supervisor) run(i int) {
	c := &s.all[i]
	backoff := NewBackoff()
	for restarts := int32(0); ; restarts++ {
		if s.isStopping() {
			return
		}
		term := s.runOnce(i, c, restarts)
		if s.isStopping() || !shouldRestart(s.policy(i), term.ExitCode) {
			return
		}
		delay := backoff.Next(term.FinishedAt)
		if delay > 0 {
			msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.Name, s.pod.Name, s.pod.Namespace, s.pod.UID)
			s.update(func(st *statusFile) {
				cs := s.cs(st, i)
				cs.State, cs.Reason, cs.Message = backend.StateWaiting, "CrashLoopBackOff", msg
			})
			select {
			case <-s.stop:
				return
			case <-time.After(time.Until(term.FinishedAt.Add(delay))):
			}
		}
	}
}

func shouldRestart(policy string, exitCode int) bool {
	switch policy {
	case "Never":
		return false
	case "OnFailure":
		return exitCode != 0
	}
	return true
}

// runOnce starts one instance of a container and waits for it to end.
func (s *supervisor) runOnce(i int, c *manifest.Container, restarts int32) backend.Termination {
	started := time.Now().UTC()
	log, err := openLog(containerLogs(s.dir, c.Name), restarts > 0)
	var cmd *exec.Cmd
	var out *os.File
	copied := make(chan struct{})
	if err == nil {
		cmd, out, err = s.command(c, log, copied)
	}
	if err == nil {
		err = cmd.Start()
		cmd.Stdout.(*os.File).Close() // the child holds the write end now
	}
	if err != nil {
		if out != nil {
			out.Close()
		}
		if log != nil {
			fmt.Fprintf(log, "kgit: cannot start container %s: %v\n", c.Name, err)
			log.Close()
		}
		t := backend.Termination{ExitCode: 128, Reason: "StartError", StartedAt: started, FinishedAt: time.Now().UTC()}
		s.terminated(i, restarts, t, err.Error())
		return t
	}
	defer log.Close()
	p, _ := identify(cmd.Process.Pid)
	exited := make(chan struct{})
	go func() { err = cmd.Wait(); close(exited) }()
	// A postStart hook runs first: until it succeeds the container is not Running, and
	// when it fails the instance is killed (and restarted per policy), as the kubelet does.
	s.update(func(st *statusFile) {
		st.Procs[c.Name] = p
		if cs := s.cs(st, i); c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
			*cs = backend.ContainerStatus{Name: c.Name, State: backend.StateWaiting, Reason: "ContainerCreating", RestartCount: restarts, LastTermination: cs.LastTermination}
		}
	})
	hookErr := s.postStart(i, c, exited)
	if hookErr != nil {
		s.killInstance(i, p, s.podGrace())
	} else {
		s.update(func(st *statusFile) {
			cs := s.cs(st, i)
			*cs = backend.ContainerStatus{Name: c.Name, State: backend.StateRunning, RestartCount: restarts, StartedAt: started, LastTermination: cs.LastTermination}
		})
	}
	probeCtx, stopProbes := context.WithCancel(context.Background())
	if hookErr == nil {
		s.startProbes(probeCtx, i, c, p, started)
	}
	<-exited
	stopProbes()
	// The main process is gone; anything it left in its process group goes too, and
	// with it the last writer of the output pipe.
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	select {
	case <-copied:
	case <-time.After(2 * time.Second): // a straggler that left the group keeps the pipe
		out.Close()
	}
	t := backend.Termination{Reason: "Completed", StartedAt: started, FinishedAt: time.Now().UTC()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.ExitCode, t.Reason = exit.ExitCode(), "Error"
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.ExitCode = 128 + int(ws.Signal())
		}
	}
	msg := ""
	if hookErr != nil {
		t.Message, msg = backend.PostStartHookError+hookErr.Error(), backend.PostStartHookError+hookErr.Error()
	}
	s.terminated(i, restarts, t, msg)
	return t
}

func (s *supervisor) terminated(i int, restarts int32, t backend.Termination, msg string) {
	s.update(func(st *statusFile) {
		name := s.cs(st, i).Name
		delete(st.Procs, name)
		*s.cs(st, i) = backend.ContainerStatus{Name: name, State: backend.StateTerminated, Reason: t.Reason, Message: msg,
			ExitCode: t.ExitCode, RestartCount: restarts, StartedAt: t.StartedAt, FinishedAt: t.FinishedAt, LastTermination: &t}
	})
}

// containerEnv is a container's environment as a process gets it: only the container's
// variables (see manifest.ContainerEnv), plus the host's PATH and HOME=/ when it sets none.
func (s *supervisor) containerEnv(c *manifest.Container) ([]string, map[string]string, error) {
	fields := manifest.PodFields{Name: s.pod.Name, Namespace: s.pod.Namespace, UID: s.pod.UID, PodIP: s.pod.PodIP,
		HostIP: "127.0.0.1", NodeName: "localhost", ServiceAccount: s.pod.Spec.ServiceAccountName,
		Labels: s.pod.Labels, Annotations: s.pod.Annotations, Services: s.pod.ServiceEnv}
	order, vals, err := manifest.ContainerEnv(c, fields, s.pod.Resolved[c.Name])
	if err != nil {
		return nil, nil, err
	}
	env := make([]string, 0, len(order)+2)
	if _, ok := vals["PATH"]; !ok {
		env = append(env, "PATH="+hostPath())
	}
	if _, ok := vals["HOME"]; !ok {
		env = append(env, "HOME=/")
	}
	for _, k := range order {
		env = append(env, k+"="+vals[k])
	}
	return env, vals, nil
}

// command builds a container's process: command+args with $(VAR) expanded, the
// container's environment, its workingDir, its own process group. Output goes through a
// pipe that a goroutine copies into the log until every writer has closed it; copied is
// closed then.
func (s *supervisor) command(c *manifest.Container, log io.Writer, copied chan struct{}) (*exec.Cmd, *os.File, error) {
	env, vals, err := s.containerEnv(c)
	if err != nil {
		return nil, nil, err
	}
	argv := manifest.ExpandAll(append(append([]string{}, c.Command...), c.Args...), vals)
	attr := &syscall.SysProcAttr{Setpgid: true}
	path, argv, err := s.resolve(c, argv, vals, attr)
	if err != nil {
		return nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	go func() {
		defer close(copied)
		_, _ = io.Copy(log, r)
	}()
	return &exec.Cmd{Path: path, Args: argv, Env: env, Dir: workingDir(c), Stdout: w, Stderr: w, SysProcAttr: attr}, r, nil
}

// resolve finds the program of a container's argv and wraps it so that it sees the
// container's volumes; the container's processes and its exec probes both run so.
func (s *supervisor) resolve(c *manifest.Container, argv []string, vals map[string]string, attr *syscall.SysProcAttr) (string, []string, error) {
	path, err := resolveCommand(argv[0], vals["PATH"])
	if err != nil {
		return "", nil, err
	}
	return s.withMounts(c, path, argv, attr)
}

func workingDir(c *manifest.Container) string {
	if c.WorkingDir == "" {
		return "/"
	}
	return c.WorkingDir
}

// resolveCommand finds a command: a path as given, a bare name in PATH.
func resolveCommand(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	return lookPath(name, path)
}

func hostPath() string {
	if p := os.Getenv("PATH"); p != "" {
		return p
	}
	return "/usr/local/bin:/usr/bin:/bin"
}

// lookPath finds a command in the container's PATH, or the host's.
func lookPath(name, path string) (string, error) {
	if path == "" {
		path = hostPath()
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable %q not found in $PATH", name)
}
