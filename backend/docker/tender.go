package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker/engine"
	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/internal/tmpdir"
	"kgit.dev/kgit/manifest"
)

// A docker engine runs no probes and does not restart a container that was stopped
// through its API, so each app's pods have a tender: a host process, started in its own
// session by the first kgit command that creates or tends a pod of the app, that outlives
// the CLI as the process backend's supervisors do. It runs the pods' probes (the code
// above, in probes.go), restarts what a liveness probe failed and starts again what the
// restart policy says should run (Tend), and publishes what it sees in a status file of
// the host (see tenderDir). Every kgit command, and the Services' proxies, take the
// readiness of a container from that file while its tender is alive, and probe for
// themselves when it is not. The tender exits when its app has had no container for
// tenderGone; the next kgit that finds it dead or built from another program starts a
// new one.
const (
	// TendCommand is the hidden mode `TendCommand APP` of kgit's binary and of TenderName.
	TendCommand = "__tend"
	// TenderName is the small program that tends docker pods, installed beside kgit (it
	// links no git, CLI or cluster code); without it, kgit's own binary does.
	TenderName = "kgit-tender"
	// tenderRefresh is how often a tender looks at its app's pods (probes are run when
	// due, at their own periods); tenderStale is the age past which readers no longer
	// trust its status; tenderGone how long it outlives its app's last container.
	tenderRefresh = 500 * time.Millisecond
	tenderStale   = 5 * time.Second
	tenderGone    = 3 * time.Second
	// tenderSettle: a stopped container is started again by the tender only once it has
	// been stopped this long, so that one stopped by a pod's deletion (removed right
	// after its stop) is never brought back.
	tenderSettle = 5 * time.Second
	// tenderFree is how often a tender returns the memory it has freed to the OS.
	tenderFree = 5 * time.Second
)

// tending is what a Backend knows of the tenders.
type tending struct {
	program string // the program to start as a tender; "": none is started
	full    string // the one for an app that speaks HTTPS or an engine that speaks TLS
	self    bool   // this process is a tender: it probes for itself
	// restarted is told of each restart Tend does (the tender counts them).
	restarted func(container string)

	mu      sync.Mutex
	ensured map[string]time.Time   // app -> when a tender was last seen alive
	cache   map[string]tenderCache // app -> its status, as last read
}

type tenderCache struct {
	at     time.Time
	status *tendStatus // nil: no live tender
}

// tendStatus is a tender's status file.
type tendStatus struct {
	PID     int       `json:"pid"`
	Program string    `json:"program"`
	Stamp   string    `json:"stamp"` // the program file's size and time
	Updated time.Time `json:"updated"`
	// Containers by ID.
	Containers map[string]tendedContainer `json:"containers"`
}

// tendedContainer is what a tender saw of one container instance (StartedAt).
type tendedContainer struct {
	StartedAt  time.Time `json:"startedAt"`
	Probed     bool      `json:"probed,omitempty"` // the fields below are the tender's
	Started    bool      `json:"started,omitempty"`
	Ready      bool      `json:"ready,omitempty"`
	ReadySince time.Time `json:"readySince,omitzero"`
	Message    string    `json:"message,omitempty"`
	// Restarts are the restarts the tender (or a kgit) asked of the engine, which the
	// engine's restart count leaves out.
	Restarts int32 `json:"restarts,omitempty"`
}

// UseTender has the backend keep a tender (program, in its hidden mode TendCommand) for
// each app whose pods it creates or tends, full (kgit's own binary) for an app whose
// probes or hooks speak HTTPS or an engine that speaks TLS, which program may not link;
// tls secures this backend's own HTTPS probes. kgit's CLI sets them; a backend without
// them starts no tender, still reads the status of tenders that run, and fails an HTTPS
// probe saying why.
func (b *Backend) UseTender(program, full string, tls probe.Handshake) {
	b.tend.program, b.tend.full, b.tls = program, full, tls
}

// tenderDir is where the tenders of this engine keep their status and lock files:
// $XDG_RUNTIME_DIR/kgit-docker, else /run/kgit-docker for root, else a per-user folder
// under the temp dir; then a folder per engine address.
func (b *Backend) tenderDir() string {
	base := filepath.Join(os.TempDir(), fmt.Sprintf("kgit-docker-%d", os.Geteuid()))
	if r := os.Getenv("XDG_RUNTIME_DIR"); r != "" {
		base = filepath.Join(r, "kgit-docker")
	} else if os.Geteuid() == 0 {
		base = "/run/kgit-docker"
	}
	h := fnv.New32a()
	h.Write([]byte(b.host))
	return filepath.Join(base, fmt.Sprintf("%08x", h.Sum32()))
}

// makeTenderDir makes an engine's folder of tenders, in a base folder that must be the
// user's own: it may be in the temporary folder, under a name known ahead.
func makeTenderDir(dir string) error {
	if err := tmpdir.Make(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	return os.MkdirAll(dir, 0o700)
}

func (b *Backend) tenderFiles(app string) (status, lock string) {
	dir := b.tenderDir()
	return filepath.Join(dir, app+".json"), filepath.Join(dir, app+".lock")
}

// tenderPID returns the PID of the process holding the app's tender lock (0: none).
// The lock is a POSIX record lock, which the kernel drops when its holder dies: no PID
// is trusted that no live process vouches for.
func tenderPID(lock string) int {
	f, err := os.Open(lock)
	if err != nil {
		return 0
	}
	defer f.Close()
	return lockHolder(f)
}

func readTendStatus(path string) *tendStatus {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st tendStatus
	if json.Unmarshal(data, &st) != nil {
		return nil
	}
	return &st
}

// tended returns the status of the app's tender when it is alive and has looked lately;
// it is read at most every 100 ms.
func (b *Backend) tended(app string) *tendStatus {
	if b.tend.self || app == "" {
		return nil
	}
	b.tend.mu.Lock()
	defer b.tend.mu.Unlock()
	if c, ok := b.tend.cache[app]; ok && time.Since(c.at) < 100*time.Millisecond {
		return c.status
	}
	statusPath, lock := b.tenderFiles(app)
	var st *tendStatus
	// Trusted only from a folder of the user's own (it may be in the temporary folder):
	// else kgit probes the pods itself.
	if tmpdir.Check(filepath.Dir(filepath.Dir(statusPath))) == nil {
		st = readTendStatus(statusPath)
	}
	if st != nil && (time.Since(st.Updated) > tenderStale || tenderPID(lock) != st.PID) {
		st = nil
	}
	if b.tend.cache == nil {
		b.tend.cache = map[string]tenderCache{}
	}
	b.tend.cache[app] = tenderCache{at: time.Now(), status: st}
	return st
}

// observe sets a running container's readiness: the tender's view of this instance when
// it has one, so that every kgit and every proxy agree, else by probing (applyProbes:
// a new container that the tender has not looked at yet, or no live tender). The
// restarts the tender counted are added to the engine's count either way.
func (b *Backend) observe(ctx context.Context, p *backend.Pod, c *manifest.Container, ins container.InspectResponse, cst *backend.ContainerStatus) {
	st := b.tended(p.Labels[backend.LabelApp])
	var e tendedContainer
	if st != nil {
		e = st.Containers[ins.ID]
	}
	cst.RestartCount += e.Restarts
	if !e.Probed || !e.StartedAt.Equal(cst.StartedAt) || cst.State != backend.StateRunning {
		b.applyProbes(ctx, p, c, ins, cst)
		return
	}
	// kept as this kgit's own probe state, which goes on from there if the tender dies
	b.mu.Lock()
	b.probes[ins.ID] = &probeState{started: e.Started, ready: e.Ready, readySince: e.ReadySince,
		message: e.Message, container: containerName(p.Namespace, p.Name, c.Name),
		runs: map[string]*probeRun{"started": {last: cst.StartedAt}}}
	b.mu.Unlock()
	cst.Ready, cst.Started = e.Ready, e.Started
	if !e.Ready && e.Message != "" {
		cst.Message = e.Message
	}
}

// TenderPID returns the PID of the app's live tender on this engine, 0 when it has none.
func (b *Backend) TenderPID(app string) int {
	_, lock := b.tenderFiles(app)
	return tenderPID(lock)
}

// tenderAlive reports whether the app has a live tender, which then restarts what its
// liveness probes fail (a kgit command leaves that to it).
func (b *Backend) tenderAlive(app string) bool { return b.tended(app) != nil }

// ensureTender makes sure the app of the pod has a tender started from the program this
// kgit would start, one that can probe the pod (looked at most every 2 s).
func (b *Backend) ensureTender(spec *backend.PodSpec) {
	app := spec.Labels[backend.LabelApp]
	if b.tend.program == "" || b.tend.self || app == "" || !tenders {
		return
	}
	program := b.tenderProgram(spec)
	b.tend.mu.Lock()
	if b.tend.ensured == nil {
		b.tend.ensured = map[string]time.Time{}
	}
	if time.Since(b.tend.ensured[app+" "+program]) < 2*time.Second {
		b.tend.mu.Unlock()
		return
	}
	b.tend.ensured[app+" "+program] = time.Now()
	b.tend.mu.Unlock()
	if err := b.startTender(app, program); err != nil && b.log != nil {
		fmt.Fprintf(b.log, "warning: app %s: its pods are probed only while kgit runs: %v\n", app, err)
	}
}

// tenderProgram is the program that can tend the pod: the full one where the pod's
// probes or hooks speak HTTPS or the engine speaks TLS.
func (b *Backend) tenderProgram(spec *backend.PodSpec) string {
	if b.tend.full != "" && (b.cli.TLS() || probe.NeedsTLS(&spec.Spec)) {
		return b.tend.full
	}
	return b.tend.program
}

// startTender starts program as the app's tender unless one runs that is program or,
// as able, the full one.
func (b *Backend) startTender(app, program string) error {
	statusPath, lock := b.tenderFiles(app)
	if pid := tenderPID(lock); pid != 0 {
		st := readTendStatus(statusPath)
		if st != nil && st.PID == pid && (st.Program == program || st.Program == b.tend.full) && st.Stamp == programStamp(st.Program) {
			return nil
		}
		// another program (kgit was upgraded, or the app now speaks HTTPS): replace it
		terminate(pid)
		for i := 0; i < 250 && tenderPID(lock) != 0; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := makeTenderDir(filepath.Dir(lock)); err != nil {
		return err
	}
	argv0 := "kgit" // kgit's binary (and the tests' binaries standing in for it) answer to it
	if filepath.Base(program) == TenderName {
		argv0 = TenderName
	}
	log := filepath.Join(filepath.Dir(lock), app+".log")
	if _, _, err := proxy.Start(program, []string{argv0, TendCommand, app}, log, "DOCKER_HOST="+b.host); err != nil {
		return fmt.Errorf("start its tender: %w", err)
	}
	return nil
}

// programStamp identifies a build of a program by its file's size and time.
func programStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return strconv.FormatInt(fi.Size(), 10) + "@" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
}

// Tender is the body of `TendCommand APP`: it tends the app's pods on the engine that
// DOCKER_HOST names until it is told to stop or the app has had no container for
// tenderGone. A second tender of the app exits at once. tls secures HTTPS probes; a
// tender without it leaves the pods that need it to kgit, which replaces it by one
// with it.
func Tender(app string, tls probe.Handshake) error {
	b, err := New(os.Stderr)
	if err != nil {
		return err
	}
	b.tend.self, b.tls = true, tls
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50) // a long-lived process with a small heap: 2 MB less RSS for 10% more GC
	}
	statusPath, lockPath := b.tenderFiles(app)
	if err := makeTenderDir(filepath.Dir(lockPath)); err != nil {
		return err
	}
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if !tryLock(lock) {
		proxy.Listening("") // another tender serves the app
		return nil
	}
	exe, _ := os.Executable()
	t := &tender{b: b, app: app, statusPath: statusPath, restarts: map[string]int32{},
		status: tendStatus{PID: os.Getpid(), Program: exe, Stamp: programStamp(exe)}}
	if old := readTendStatus(statusPath); old != nil {
		for id, c := range old.Containers { // the counts of the tender it replaces
			t.restarts[id] = c.Restarts
		}
	}
	b.tend.restarted = t.countRestart
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	proxy.Listening("")
	var empty, unreachable time.Time
	tick := time.NewTicker(tenderRefresh)
	defer tick.Stop()
	var freed time.Time
	for {
		n, err := t.pass(ctx)
		if time.Since(freed) >= tenderFree {
			// The passes' garbage is a few hundred KB a second around a live heap of
			// well under 1 MB: collected and handed back to the OS every few seconds
			// (a millisecond of CPU), the tender holds 1 to 2 MB less than if the
			// runtime's own pace kept it.
			debug.FreeOSMemory()
			freed = time.Now()
		}
		now := time.Now()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			fmt.Fprintf(os.Stderr, "%s tender %s: %v\n", now.Format(time.RFC3339), app, err)
			if unreachable.IsZero() {
				unreachable = now
			} else if now.Sub(unreachable) > 10*time.Minute {
				return err
			}
		case n == 0:
			unreachable = time.Time{}
			if empty.IsZero() {
				empty = now
			} else if now.Sub(empty) >= tenderGone {
				os.Remove(statusPath) // the app is gone: nothing of it is left behind
				os.Remove(lockPath)
				os.Remove(filepath.Join(filepath.Dir(lockPath), app+".log"))
				return nil
			}
		default:
			empty, unreachable = time.Time{}, time.Time{}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

type tender struct {
	b          *Backend
	app        string
	statusPath string
	status     tendStatus
	mu         sync.Mutex
	restarts   map[string]int32  // by container ID
	names      map[string]string // container name -> ID, as last listed
	hasProbes  map[string]bool   // pod UID -> whether its spec has probes or init containers
}

func (t *tender) countRestart(name string) {
	t.mu.Lock()
	if id, ok := t.names[name]; ok {
		t.restarts[id]++
	}
	t.mu.Unlock()
}

// pass looks at the app's containers once: pods whose containers all run and that have
// no probe cost one listing; the others are inspected, probed when due, and tended.
// It returns how many containers the app has.
func (t *tender) pass(ctx context.Context) (int, error) {
	b := t.b
	f := make(engine.Filters).Add("label", backend.LabelManagedBy+"="+backend.ManagedBy).
		Add("label", backend.LabelApp+"="+t.app).Add("label", labelPod)
	res, err := b.containerList(ctx, f)
	if err != nil {
		return 0, err
	}
	groups := map[string][]container.Summary{}
	names := map[string]string{}
	for _, c := range res {
		key := c.Labels[backend.LabelNamespace] + "_" + c.Labels[labelPod] + "_" + c.Labels[labelPodUID]
		groups[key] = append(groups[key], c)
		names[containerName(c.Labels[backend.LabelNamespace], c.Labels[labelPod], c.Labels[labelContainer])] = c.ID
	}
	t.mu.Lock()
	t.names = names
	t.mu.Unlock()
	hasProbes := map[string]bool{}
	seen := map[string]tendedContainer{}
	for key, cs := range groups {
		uid := cs[0].Labels[labelPodUID]
		probed, known := t.hasProbes[uid]
		if !known {
			var spec backend.PodSpec
			if err := json.Unmarshal([]byte(cs[0].Labels[labelPodSpec]), &spec); err != nil {
				continue
			}
			probed = len(spec.Spec.InitContainers) > 0
			for _, c := range spec.Spec.Containers {
				probed = probed || c.ReadinessProbe != nil || c.LivenessProbe != nil || c.StartupProbe != nil
			}
			if b.tls == nil && probe.NeedsTLS(&spec.Spec) {
				continue // not known: looked at again, by the tender that replaces this one
			}
		}
		hasProbes[uid] = probed
		quiet := !probed
		for _, c := range cs {
			quiet = quiet && c.State == container.StateRunning
			seen[c.ID] = tendedContainer{}
		}
		if quiet {
			continue // nothing to probe, nothing to start
		}
		p, err := b.pod(ctx, key, cs, true)
		if err != nil || p == nil {
			continue
		}
		t.publish(p, cs, seen)
		if p.Status.Active() && settled(p, time.Now()) {
			if err := b.Tend(ctx, p); err != nil {
				fmt.Fprintf(os.Stderr, "%s tender %s: %v\n", time.Now().Format(time.RFC3339), t.app, err)
			}
		}
	}
	t.hasProbes = hasProbes
	// forget the containers that are gone
	b.mu.Lock()
	for id := range b.probes {
		if _, ok := seen[id]; !ok {
			delete(b.probes, id)
		}
	}
	b.mu.Unlock()
	t.mu.Lock()
	for id, n := range t.restarts {
		if _, ok := seen[id]; !ok {
			delete(t.restarts, id)
			continue
		}
		e := seen[id]
		e.Restarts = n
		seen[id] = e
	}
	t.mu.Unlock()
	for id, e := range seen {
		if e == (tendedContainer{}) {
			delete(seen, id)
		}
	}
	t.status.Containers, t.status.Updated = seen, time.Now()
	return len(res), t.write()
}

// publish records what the pass saw of p's containers (cs, by ID) in seen.
func (t *tender) publish(p *backend.Pod, cs []container.Summary, seen map[string]tendedContainer) {
	ids := map[string]string{}
	for _, c := range cs {
		ids[c.Labels[labelContainer]] = c.ID
	}
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	for _, st := range append(append([]backend.ContainerStatus(nil), p.Status.InitContainers...), p.Status.Containers...) {
		id := ids[st.Name]
		ps := t.b.probes[id]
		if id == "" || ps == nil || st.State != backend.StateRunning {
			continue
		}
		msg := ""
		if !st.Ready {
			msg = st.Message
		}
		seen[id] = tendedContainer{StartedAt: st.StartedAt, Probed: true, Started: st.Started, Ready: st.Ready,
			ReadySince: ps.readySince, Message: msg}
	}
}

// settled reports whether every stopped container of the pod has been stopped for
// tenderSettle (see there).
func settled(p *backend.Pod, now time.Time) bool {
	for _, c := range p.Status.Containers {
		if c.State == backend.StateTerminated && now.Sub(c.FinishedAt) < tenderSettle {
			return false
		}
	}
	return true
}

// write replaces the status file (a reader never sees half of one).
func (t *tender) write() error {
	data, err := json.Marshal(&t.status)
	if err != nil {
		return err
	}
	tmp := t.statusPath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, t.statusPath); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}
