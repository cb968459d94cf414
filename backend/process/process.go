//go:build linux

// Package process is kgit's embedded default backend: each pod is a supervisor process
// (kgit-supervisor, or kgit's own binary in the same hidden mode; see Supervisor) that
// outlives the CLI and runs the pod's containers as host processes.
//
// The backend keeps its pods under its own root, apart from kgit's state directory:
//
//	ROOT/pods/NAMESPACE_NAME/pod.json         the pod as created (immutable)
//	ROOT/pods/NAMESPACE_NAME/supervisor.json  the supervisor's PID and start time
//	ROOT/pods/NAMESPACE_NAME/status.json      status, written by the supervisor
//	ROOT/pods/NAMESPACE_NAME/logs/C.log       container logs, size-capped
//	ROOT/pods/NAMESPACE_NAME/volumes/VOLUME   configMap, secret and emptyDir volumes
//	ROOT/ips/ADDRESS                          the pod that holds a loopback address
//	ROOT/claims/NAMESPACE/CLAIM               persistent volume claims
//	ROOT/services/NAMESPACE_NAME/             a Service's route and proxy
//	ROOT/records/APP/records.jsonl            records: one a line, see recordsLog
//	ROOT/locks/APP.lock                       the per-app sync lock
package process

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"

	"golang.org/x/sys/unix"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/internal/parallel"
	"kgit.dev/kgit/manifest"
)

// Backend runs pods as supervised host processes.
type Backend struct {
	root string
	kgit string // kgit's own binary: supervises pods whose probes need TLS

	supervisorOnce sync.Once
	supervisor     string // supervises the other pods and serves Services: see program

	podFilesMu sync.Mutex
	podFiles   map[string]cachedPodFile // by pod id: see readPodFile

	spreadOnce sync.Once // spreadFolders on the pods' folder, once a Backend

	recordsState
}

// cachedPodFile is a pod.json as parsed, with the identity of the file it came from.
type cachedPodFile struct {
	id fileID
	pf *podFile
}

// New returns a process backend rooted at root. kgit is kgit's own binary, or any
// program with the hidden modes of Hidden; "" gives a backend that only reads.
func New(root, kgit string) *Backend { return &Backend{root: root, kgit: kgit} }

// supervisorProgram is Supervisor(kgit), looked up when a pod or a proxy first starts:
// a sync that starts nothing does not read the programs' build information.
func (b *Backend) supervisorProgram() string {
	b.supervisorOnce.Do(func() {
		b.supervisor = b.kgit
		if b.kgit != "" {
			b.supervisor = Supervisor(b.kgit)
		}
	})
	return b.supervisor
}

// Name implements backend.Backend.
func (b *Backend) Name() string { return Name }

// Root is the folder that holds the backend's pods.
func (b *Backend) Root() string { return b.root }

// Available checks that the root is usable and that this is Linux (PIDs are identified
// through /proc).
func (b *Backend) Available(ctx context.Context) error {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return fmt.Errorf("process: /proc is not available (the process backend needs Linux): %w", err)
	}
	pods := filepath.Join(b.root, "pods")
	if err := os.MkdirAll(pods, 0o700); err != nil {
		return fmt.Errorf("process: cannot use root %s: %w", b.root, err)
	}
	b.spreadOnce.Do(func() { spreadFolders(pods) })
	return nil
}

// fsTopdirFL is FS_TOPDIR_FL of linux/fs.h, which golang.org/x/sys/unix does not name.
const fsTopdirFL = 0x00020000

// spreadFolders asks ext4 to place the folders made in dir (the pods' folders) as it
// places top-level ones, each in a block group with few folders, rather than all in
// dir's group, where each pod's files follow its folder. On ext4 without a journal (the
// machine kgit's benchmarks run on) an inode allocation scans past every inode freed in
// its group in the last seconds, or minutes while their table is unwritten: with every
// pod in one group, each pod a rollout created paid for all the pods it had replaced,
// and 0 to 100 pods took twice as long. Other filesystems refuse the flag or ignore it.
func spreadFolders(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS); err == nil && flags&fsTopdirFL == 0 {
		_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsTopdirFL))
	}
}

// Capabilities implements backend.Backend: host processes are not isolated; Services
// are routed by proxies; a pod is marked terminating by a file in its folder.
func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{Routes: true, MarksTerminating: true, Execs: true, Forwards: true, Meters: true, Unhonoured: unhonoured()}
}

// unhonoured lists the pod fields a host process cannot honour.
func unhonoured() []string {
	return append(append(manifest.UnhonouredVolumeFields(), manifest.UnhonouredLifecycleFields()...), "nodeSelector", "tolerations", "affinity", "nodeName", "hostNetwork", "hostPID", "hostIPC", "hostname", "subdomain",
		"securityContext", "dnsPolicy", "dnsConfig", "hostAliases", "imagePullSecrets",
		"priorityClassName", "runtimeClassName", "topologySpreadConstraints",
		"containers[].resources", "containers[].securityContext", "containers[].ports[].hostPort",
		"initContainers[].resources", "initContainers[].securityContext")
}

func (b *Backend) podDir(id string) string { return filepath.Join(b.root, "pods", id) }

// podFile is pod.json.
type podFile struct {
	backend.PodSpec
	UID     string    `json:"uid"`
	Created time.Time `json:"created"`
	PodIP   string    `json:"podIP"`
}

// statusFile is status.json, written only by the supervisor.
type statusFile struct {
	backend.PodStatus
	Procs    map[string]Proc `json:"procs,omitempty"` // running container processes
	Stopping bool            `json:"stopping,omitempty"`
	Done     bool            `json:"done,omitempty"` // the supervisor has exited on purpose
}

// CreatePod writes the pod's folder and starts its supervisor.
func (b *Backend) CreatePod(ctx context.Context, spec backend.PodSpec) (*backend.Pod, error) {
	if err := b.Available(ctx); err != nil {
		return nil, err
	}
	for _, c := range append(append([]manifest.Container(nil), spec.Spec.InitContainers...), spec.Spec.Containers...) {
		if len(c.Command) == 0 {
			return nil, fmt.Errorf("pod %s: container %q has no command: the process backend runs command+args on the host and does not unpack images", spec.Name, c.Name)
		}
	}
	id := spec.Namespace + "_" + spec.Name
	dir := b.podDir(id)
	// The pod's folder is prepared aside and renamed into place, so a crash never leaves
	// a pod folder without its pod.json.
	tmp, err := os.MkdirTemp(filepath.Join(b.root, "pods"), ".new-")
	if err != nil {
		return nil, err
	}
	placed := false
	defer func() {
		// Once renamed, tmp is gone: looking for it again would lock the pods folder,
		// which every creation and removal of a rollout's wave also locks.
		if !placed {
			os.RemoveAll(tmp)
		}
	}()
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("pod %s/%s: %w", spec.Namespace, spec.Name, backend.ErrAlreadyExists)
	}
	ip, err := b.claimIP(ctx, id)
	if err != nil {
		return nil, err
	}
	pf := podFile{PodSpec: spec, UID: newUID(), Created: time.Now().UTC(), PodIP: ip}
	// The folder is private until renamed: pod.json is written in place, not through a
	// temporary file of its own (a pod start is mostly file creations).
	data, err := json.Marshal(pf)
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "pod.json"), data, 0o600)
	}
	if err == nil {
		// A pod of that name created meanwhile makes the rename fail: pod folders are
		// never empty.
		if err = os.Rename(tmp, dir); err != nil && (errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY)) {
			err = fmt.Errorf("pod %s/%s: %w", spec.Namespace, spec.Name, backend.ErrAlreadyExists)
		}
	}
	if err != nil {
		b.releaseIP(id, ip)
		return nil, err
	}
	placed = true
	if err := b.startSupervisor(id, b.program(&spec)); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// What a listing would say now, without reading back what was just written.
	return pf.pending(id, false), nil
}

// argv0 is what ps shows for a supervisor: kgit-supervisor, or kgit for kgit's own
// binary (whose test builds dispatch on that name).
func argv0(exe string) string {
	if filepath.Base(exe) == SupervisorName {
		return SupervisorName
	}
	return "kgit"
}

// program is what supervises a pod: kgit-supervisor, unless a probe or lifecycle hook of
// the pod speaks HTTPS, which only kgit's own binary links.
func (b *Backend) program(spec *backend.PodSpec) string {
	if probe.NeedsTLS(&spec.Spec) {
		return b.kgit
	}
	return b.supervisorProgram()
}

func (b *Backend) startSupervisor(id string, exe string) error {
	dir := b.podDir(id)
	logf, err := os.OpenFile(filepath.Join(dir, "supervisor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{argv0(exe), SuperviseCommand, "--root", b.root, id},
		Dir:         "/",
		Env:         os.Environ(),
		Stdout:      logf,
		Stderr:      logf,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start supervisor for pod %s: %w", id, err)
	}
	p, err := identify(cmd.Process.Pid)
	if err == nil {
		err = writeJSON(filepath.Join(dir, "supervisor.json"), p)
	}
	_ = cmd.Process.Release() // the supervisor outlives us; init reaps it
	if err != nil {
		return fmt.Errorf("record supervisor of pod %s: %w", id, err)
	}
	return nil
}

// claimIP gives the pod a loopback address of its own: a claim file ROOT/ips/ADDRESS,
// created exclusively and holding the pod's id, so that concurrent creations never
// share an address and none has to read the others' pods. A claim whose pod folder is
// gone (a crash between the two) is taken over once it is older than a creation takes.
func (b *Backend) claimIP(ctx context.Context, id string) (string, error) {
	dir := filepath.Join(b.root, "ips")
	if err := b.migrateIPClaims(ctx, dir); err != nil {
		return "", err
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	// 127.1.0.1 .. 127.254.255.254: 254*65536 addresses, skipping .0 and .255 hosts.
	const span = 254 * 65536
	for i := uint32(0); i < span; i++ {
		n := (h.Sum32() + i) % span
		a, c, d := 1+n/65536, (n/256)%256, n%256
		if d == 0 || d == 255 {
			continue
		}
		ip := fmt.Sprintf("127.%d.%d.%d", a, c, d)
		claim := filepath.Join(dir, ip)
		for attempt := 0; attempt < 2; attempt++ {
			f, err := os.OpenFile(claim, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err == nil {
				_, err = f.WriteString(id)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				return ip, err
			}
			if !errors.Is(err, fs.ErrExist) || !b.staleClaim(claim, id) {
				break
			}
			_ = os.Remove(claim)
		}
	}
	return "", errors.New("process: no free loopback address")
}

// staleClaim reports whether an address claim's pod is gone: a claim of the pod being
// created (its folder is not there yet, or CreatePod would have stopped) was left by a
// crash; another pod's claim is stale once its folder is gone and the claim is older
// than a creation takes.
func (b *Backend) staleClaim(claim, id string) bool {
	owner, err := os.ReadFile(claim)
	if err == nil && string(owner) == id {
		return true
	}
	st, serr := os.Stat(claim)
	if err != nil || serr != nil || time.Since(st.ModTime()) < 30*time.Second {
		return false
	}
	_, err = os.Stat(filepath.Join(b.podDir(string(owner)), "pod.json"))
	return errors.Is(err, fs.ErrNotExist)
}

// releaseIP removes the pod's address claim.
func (b *Backend) releaseIP(id, ip string) {
	claim := filepath.Join(b.root, "ips", ip)
	if owner, err := os.ReadFile(claim); err == nil && string(owner) == id {
		_ = os.Remove(claim)
	}
}

// migrateIPClaims writes the claims of pods created before claims existed, once.
func (b *Backend) migrateIPClaims(ctx context.Context, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	unlock, err := b.lockFile(ctx, filepath.Join(b.root, "ips.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(b.root, ".ips-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	entries, _ := os.ReadDir(filepath.Join(b.root, "pods"))
	for _, e := range entries {
		var pf podFile
		if readJSON(filepath.Join(b.podDir(e.Name()), "pod.json"), &pf) == nil && pf.PodIP != "" {
			if err := os.WriteFile(filepath.Join(tmp, pf.PodIP), []byte(e.Name()), 0o600); err != nil {
				return err
			}
		}
	}
	return os.Rename(tmp, dir)
}

func newUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ListPods reads every pod folder and returns the pods the selector matches.
func (b *Backend) ListPods(ctx context.Context, selector map[string]string) ([]*backend.Pod, error) {
	entries, err := os.ReadDir(filepath.Join(b.root, "pods"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("process: list pods: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	all, err := parallel.Map(len(ids), func(i int) (*backend.Pod, error) {
		p, err := b.readPod(ids[i])
		if errors.Is(err, backend.ErrNotFound) {
			return nil, nil // deleted or half-created meanwhile
		}
		return p, err
	})
	if err != nil {
		return nil, err
	}
	var pods []*backend.Pod
	for _, p := range all {
		if p != nil && backend.Matches(p.Labels, selector) {
			pods = append(pods, p)
		}
	}
	b.forgetPodFiles(ids)
	return pods, nil
}

// readPodFile reads a pod's pod.json, parsed once per file: it never changes after the
// pod's creation, and a rollout lists every pod ten times a second (a Service's proxy
// reads them all at each change). The file's inode, size and time say whether the one
// parsed is still there (a StatefulSet's pod of the same name is another file). What
// is kept is the pod's spec as it is shown (PodSpec.Hidden: no values from Secrets),
// shared by its readers, which do not change it.
func (b *Backend) readPodFile(id string) (*podFile, error) {
	path := filepath.Join(b.podDir(id), "pod.json")
	fid, err := fileIDOf(path)
	if err != nil {
		return nil, err
	}
	b.podFilesMu.Lock()
	c, ok := b.podFiles[id]
	b.podFilesMu.Unlock()
	if ok && c.id == fid {
		return c.pf, nil
	}
	var pf podFile
	if err := readJSON(path, &pf); err != nil {
		return nil, err
	}
	pf.PodSpec = pf.PodSpec.Hidden()
	b.podFilesMu.Lock()
	if b.podFiles == nil {
		b.podFiles = map[string]cachedPodFile{}
	}
	b.podFiles[id] = cachedPodFile{id: fid, pf: &pf}
	b.podFilesMu.Unlock()
	return &pf, nil
}

// fileID tells one version of a file from the next.
type fileID struct {
	ino  uint64
	mod  int64
	size int64
}

func fileIDOf(path string) (fileID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return fileID{ino: st.Ino, mod: st.Mtim.Nano(), size: st.Size}, nil
}

// forgetPodFiles drops what is kept of the pods not in ids (gone).
func (b *Backend) forgetPodFiles(ids []string) {
	b.podFilesMu.Lock()
	defer b.podFilesMu.Unlock()
	keepOnly(b.podFiles, ids)
}

// keepOnly deletes from m the keys that are not in ids.
func keepOnly[V any](m map[string]V, ids []string) {
	listed := make(map[string]bool, len(ids))
	for _, id := range ids {
		listed[id] = true
	}
	for id := range m {
		if !listed[id] {
			delete(m, id)
		}
	}
}

func (b *Backend) readPod(id string) (*backend.Pod, error) {
	dir := b.podDir(id)
	pf, err := b.readPodFile(id)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("pod %s: %w", id, backend.ErrNotFound)
		}
		return nil, fmt.Errorf("process: read pod %s: %w", id, err)
	}
	pod := pf.pending(id, false)
	// Whether the supervisor lives is asked before its status is read: a supervisor that
	// finished on purpose wrote its last status (Done) before it exited, so a status read
	// after a death was seen is final. The other order could pair a status from before
	// the last write with the death that followed it, and call the pod SupervisorLost.
	alive := b.supervisorAlive(id)
	var st statusFile
	statusErr := readStatus(dir, &st)
	// The mark is looked at after the status, as late as it can be: a listing is not one
	// moment, and a pod marked while the listing ran must show marked as much as it can,
	// or a pod created after the mark may show beside it as both live.
	marked := b.markedTerminating(id)
	if statusErr == nil {
		pod.Status = st.PodStatus
		pod.Status.Terminating = st.Stopping || !marked.IsZero()
	} else {
		pod.Status.Terminating = !marked.IsZero() // not started yet; a mark made meanwhile holds all the same
	}
	pod.Status.TerminatingSince = marked
	if !alive && !st.Done {
		// Not recorded yet when asked, but its first status is there: a supervisor records
		// itself before that, so it is asked again (a dead one cannot come back).
		alive = b.supervisorAlive(id)
	}
	switch {
	case st.Stopping && !alive:
		// Stopped, but its folder was not removed (the deleting CLI was killed).
		pod.Status.Phase, pod.Status.Reason, pod.Status.Message = backend.PodFailed, "Stopped", "the pod was stopped"
		pod.Status.Ready = false
	case !st.Done && !alive && (st.PodStatus.Phase != "" || time.Since(pf.Created) > 10*time.Second):
		// The supervisor died: its containers are no longer looked after.
		pod.Status.Phase = backend.PodFailed
		pod.Status.Reason = "SupervisorLost"
		pod.Status.Message = "the pod's supervisor process is gone"
		pod.Status.Ready = false
	}
	return pod, nil
}

// pending is the pod as it is until its supervisor writes its status: Pending, its
// containers being created (terminating, when marked so).
func (pf *podFile) pending(id string, terminating bool) *backend.Pod {
	pod := &backend.Pod{ID: id, PodSpec: pf.PodSpec.Hidden(), UID: pf.UID, Created: pf.Created} // values from Secrets are for the supervisor only
	pod.Status = backend.PodStatus{Phase: backend.PodPending, PodIP: pf.PodIP, Terminating: terminating}
	for _, c := range pf.Spec.Containers {
		pod.Status.Containers = append(pod.Status.Containers, backend.ContainerStatus{Name: c.Name, State: backend.StateWaiting, Reason: "ContainerCreating"})
	}
	return pod
}

// supervisorOf is the process that supervises a pod, as supervisor.json records it.
func (b *Backend) supervisorOf(id string) (Proc, error) {
	var p Proc
	err := readJSON(filepath.Join(b.podDir(id), "supervisor.json"), &p)
	return p, err
}

func (b *Backend) supervisorAlive(id string) bool {
	p, err := b.supervisorOf(id)
	return err == nil && p.Alive()
}

// MarkTerminating implements backend.Terminator: a file in the pod's folder says it is
// being deleted, until the supervisor says so itself.
func (b *Backend) MarkTerminating(ctx context.Context, id string) error {
	// Made once: its time is when the pod began terminating (its deletionTimestamp).
	f, err := os.OpenFile(filepath.Join(b.podDir(id), "terminating"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// markedTerminating is when the pod was marked terminating, or zero.
func (b *Backend) markedTerminating(id string) time.Time {
	fi, err := os.Stat(filepath.Join(b.podDir(id), "terminating"))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// DeletePod asks the supervisor to stop the pod (it sends SIGTERM to every container's
// process group, waits grace, then SIGKILL), waits for it, kills whatever is left, and
// removes the pod's folder.
func (b *Backend) DeletePod(ctx context.Context, id string, grace time.Duration) error {
	dir := b.podDir(id)
	var pf podFile
	if err := readJSON(filepath.Join(dir, "pod.json"), &pf); errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(dir)
		return nil
	}

	if sup, _ := b.supervisorOf(id); sup.Alive() {
		_ = os.WriteFile(filepath.Join(dir, "grace"), []byte(grace.String()), 0o600)
		sup.Signal(syscall.SIGTERM)
		if !sup.waitGone(grace + 5*time.Second) {
			sup.Signal(syscall.SIGKILL)
			sup.waitGone(2 * time.Second)
		}
	}
	// Whatever the supervisor left behind (it was killed, or crashed) goes now.
	var st statusFile
	if readStatus(dir, &st) == nil {
		for _, p := range st.Procs {
			p.SignalGroup(syscall.SIGKILL)
			p.waitGone(2 * time.Second)
		}
	}
	// The folder leaves the listing at once, whole, before it is emptied: removed in
	// place, a listing could find pod.json after the status and the terminating mark were
	// gone, and show a pod being removed as a new one, Pending.
	gone := filepath.Join(b.root, "pods", fmt.Sprintf(".gone-%s-%d", id, time.Now().UnixNano()))
	if os.Rename(dir, gone) == nil {
		dir = gone
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("process: remove pod %s: %w", id, err)
	}
	b.releaseIP(id, pf.PodIP)
	return nil
}

// Lock takes the per-app sync lock: a file lock in the backend's root, so that it is
// released when its holder dies, however it dies.
func (b *Backend) Lock(ctx context.Context, app string, wait time.Duration) (func(), error) {
	dir := filepath.Join(b.root, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, app+".lock")
	l := flock.New(path)
	ok, err := l.TryLock()
	if !ok && err == nil && lockOwnerGone(path) {
		// Its holder died, but a child it was starting shares the lock until that child's
		// exec closes it: a few milliseconds, seconds on a busy machine (2 s was seen to
		// be too short with the load at 8 on 2 cores).
		wait = max(wait, 10*time.Second)
	}
	if !ok && err == nil && wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		ok, err = l.TryLockContext(wctx, 20*time.Millisecond)
		cancel()
	}
	if !ok {
		var h holder
		_ = readJSON(path+".holder", &h)
		return nil, &backend.LockedError{App: app, Holder: h.String(), Since: h.Since}
	}
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	_ = writeJSON(path+".holder", holder{PID: os.Getpid(), Host: host, Since: time.Now().UTC()})
	return func() { _ = l.Unlock() }, nil
}

type holder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
}

// lockOwnerGone reports whether the process that took the file lock on path (as
// /proc/locks names it) has exited while the lock is still held, or the lock is no
// longer held at all (released since the try that failed: the child that shared it
// has just exec'd).
func lockOwnerGone(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false
	}
	inode := ":" + strconv.FormatUint(sys.Ino, 10)
	held := false
	for _, line := range strings.Split(string(locks), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" || !strings.HasSuffix(f[5], inode) {
			continue
		}
		held = true
		if pid, err := strconv.Atoi(f[4]); err == nil && pid > 0 && syscall.Kill(pid, 0) != nil {
			return true
		}
	}
	return !held
}

func (h holder) String() string { return fmt.Sprintf("pid %d on %s", h.PID, h.Host) }

func (b *Backend) lockFile(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	l := flock.New(path)
	if _, err := l.TryLockContext(ctx, 5*time.Millisecond); err != nil {
		return nil, fmt.Errorf("process: lock %s: %w", path, err)
	}
	return func() { _ = l.Unlock() }, nil
}

// writeJSON writes v to path atomically (temp file, rename), so a reader or a crash
// never sees half a file.
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFile(path, data)
}

// writeFile writes data to path atomically.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// swapFile replaces the content of a file rewritten often (a pod's status.json) as
// writeFile does, atomically, but without a new inode each time: it writes data into
// the file's spare twin (.NAME.next) and exchanges the two names (renameat2
// RENAME_EXCHANGE), so the old content becomes the twin the next write reuses. On ext4
// without a journal, as on the machine kgit's benchmarks run on, every inode allocation
// scans past the inodes freed in the last seconds: a rollout's hundreds of status
// writes by rename made each pod creation pay for all of them. A reader that opened
// the file just before an exchange may find it rewritten under it, which readStatus
// notices and reads again. The twin's times are set to the write's own nanosecond, so
// that two writes of the same size never look alike to those that compare a file's
// inode, times and size (the Service proxies, the steady syncs' fingerprint), even on a
// filesystem whose clock ticks coarsely. Where the exchange fails (another filesystem,
// the first write) the twin is renamed over the file.
func swapFile(path string, data []byte) error {
	next := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".next")
	f, err := os.OpenFile(next, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		now := time.Now()
		err = os.Chtimes(next, now, now)
	}
	if err != nil {
		return err
	}
	if unix.Renameat2(unix.AT_FDCWD, next, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE) != nil {
		return os.Rename(next, path)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// readStatus reads a pod's status.json. The file is rewritten in place of its twin (see
// swapFile), so a reader may open it just before it becomes the twin and read it while it
// is rewritten: a read that the file changed under (its size or change time moved) or
// that does not parse (the file was emptied and not yet written whole) is made again, a
// millisecond later, up to ten times.
func readStatus(dir string, st *statusFile) error {
	path := filepath.Join(dir, "status.json")
	for try := 0; ; try++ {
		data, stable, err := readStable(path)
		if err != nil {
			return err
		}
		*st = statusFile{}
		err = json.Unmarshal(data, st)
		var syntax *json.SyntaxError
		if stable && !errors.As(err, &syntax) || try == 9 {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

// readStable reads a file whole and reports whether it stayed the same meanwhile.
func readStable(path string) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	var before, after syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &before); err != nil {
		return nil, false, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Fstat(int(f.Fd()), &after); err != nil {
		return nil, false, err
	}
	stable := before.Ctim == after.Ctim && before.Size == after.Size && after.Size == int64(len(data))
	return data, stable, nil
}
