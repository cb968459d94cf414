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
	b := New(root, "")
	dir := b.podDir(id)
	var pf podFile
	if err := readJSON(filepath.Join(dir, "pod.json"), &pf); err != nil {
		return fmt.Errorf("supervise %s: %w", id, err)
	}
	s := &supervisor{root: root, dir: dir, pod: pf, stop: make(chan struct{}), tls: tls}
	s.status.Phase = backend.PodPending
	s.status.PodIP = pf.PodIP
	s.status.StartTime = time.Now().UTC()
	s.status.Procs = map[string]Proc{}
	for _, c := range pf.Spec.Containers {
		s.status.Containers = append(s.status.Containers, backend.ContainerStatus{Name: c.Name, State: backend.StateWaiting, Reason: "ContainerCreating"})
	}
	s.write()

	// The supervisor records itself too: the CLI that started it may die before it does.
	if self, err := identify(os.Getpid()); err == nil {
		_ = writeJSON(filepath.Join(dir, "supervisor.json"), self)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	orphaned := make(chan struct{})
	go watchFolder(dir, orphaned)
	if err := s.prepareVolumes(); err != nil {
		// The containers cannot start without their volumes: say why, until stopped.
		s.update(func(st *statusFile) {
			for i := range st.Containers {
				st.Containers[i].Reason, st.Containers[i].Message = "CreateContainerError", err.Error()
			}
		})
		select {
		case <-sigs:
		case <-orphaned:
		}
		return nil
	}
	var wg sync.WaitGroup
	for i := range pf.Spec.Containers {
		wg.Add(1)
		go func() { defer wg.Done(); s.run(i) }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-sigs:
		s.shutdown()
		<-done
	case <-orphaned: // the pod was removed without us: nothing of it may keep running
		s.shutdown()
		<-done
		return nil
	case <-done: // every container finished and will not restart
	}
	s.update(func(st *statusFile) { st.Done = true })
	return nil
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
	stop chan struct{} // closed when the pod is being deleted
	tls  probe.Handshake

	mu       sync.Mutex
	status   statusFile
	written  []byte // status.json as last written
	stopping bool
}

func (s *supervisor) update(f func(st *statusFile)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.status)
	s.status.Phase, s.status.Ready = backend.PodPhase(s.pod.Spec.RestartPolicy, s.status.Containers)
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
		err = writeFile(filepath.Join(s.dir, "status.json"), data)
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
func (s *supervisor) shutdown() {
	s.mu.Lock()
	s.stopping = true
	s.status.Stopping = true
	procs := make([]Proc, 0, len(s.status.Procs))
	for _, p := range s.status.Procs {
		procs = append(procs, p)
	}
	s.writeLocked()
	s.mu.Unlock()
	close(s.stop)
	if servedBy(s.root, &s.pod) {
		time.Sleep(proxy.Drain) // the Services' proxies drop the pod before it stops
	}

	grace := time.Duration(*s.pod.Spec.TerminationGracePeriodSeconds) * time.Second
	if b, err := os.ReadFile(filepath.Join(s.dir, "grace")); err == nil {
		if d, err := time.ParseDuration(string(b)); err == nil {
			grace = d
		}
	}
	for _, p := range procs {
		p.SignalGroup(syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		if !p.waitGone(time.Until(deadline)) {
			p.SignalGroup(syscall.SIGKILL)
		}
	}
}

// run keeps one container going as its restartPolicy says.
func (s *supervisor) run(i int) {
	c := &s.pod.Spec.Containers[i]
	backoff := NewBackoff()
	for restarts := int32(0); ; restarts++ {
		if s.isStopping() {
			return
		}
		term := s.runOnce(i, c, restarts)
		if s.isStopping() || !shouldRestart(s.pod.Spec.RestartPolicy, term.ExitCode) {
			return
		}
		delay := backoff.Next(term.FinishedAt)
		if delay > 0 {
			msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.Name, s.pod.Name, s.pod.Namespace, s.pod.UID)
			s.update(func(st *statusFile) {
				cs := &st.Containers[i]
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
	s.update(func(st *statusFile) {
		st.Procs[c.Name] = p
		cs := &st.Containers[i]
		*cs = backend.ContainerStatus{Name: c.Name, State: backend.StateRunning, RestartCount: restarts, StartedAt: started, LastTermination: cs.LastTermination}
	})
	probeCtx, stopProbes := context.WithCancel(context.Background())
	s.startProbes(probeCtx, i, c, p, started)
	err = cmd.Wait()
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
	s.terminated(i, restarts, t, "")
	return t
}

func (s *supervisor) terminated(i int, restarts int32, t backend.Termination, msg string) {
	s.update(func(st *statusFile) {
		name := st.Containers[i].Name
		delete(st.Procs, name)
		st.Containers[i] = backend.ContainerStatus{Name: name, State: backend.StateTerminated, Reason: t.Reason, Message: msg,
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

// isExecutable reports whether path is a file with an execute bit.
func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
