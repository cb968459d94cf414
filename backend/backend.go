// Package backend defines what kgit needs from a place that runs pods, and the labels
// that let kgit read its whole state back from that place.
//
// A Backend runs pods and keeps kgit's records beside them: one per object applied from
// git (of any kind) and one per ReplicaSet kgit's controllers made; it knows nothing of
// rollouts. Everything kgit creates carries the
// kgit.dev/ labels, so the backend itself is the source of truth: losing kgit's state
// directory never loses track of what runs.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"kgit.dev/kgit/manifest"
)

// Labels kgit puts on everything it creates.
const (
	LabelManagedBy = "kgit.dev/managed-by"
	LabelApp       = "kgit.dev/app"
	LabelNamespace = "kgit.dev/namespace"
	LabelOwnerKind = "kgit.dev/owner-kind"
	LabelOwner     = "kgit.dev/owner"
	LabelHash      = "kgit.dev/pod-template-hash"
	LabelRevision  = "kgit.dev/revision"
	LabelCommit    = "kgit.dev/commit"
	ManagedBy      = "kgit"
)

// PodSpec is what a backend needs to create a pod.
type PodSpec struct {
	Name, Namespace     string
	Labels, Annotations map[string]string
	Spec                manifest.PodSpec
	// Resolved holds, by container name, the values the containers take from
	// ConfigMaps and Secrets. Backends keep it out of anything they show.
	Resolved map[string]*manifest.Resolved `json:"resolved,omitempty"`
	// Files holds, by volume name, the files of configMap and secret volumes. Backends
	// keep it out of anything they show too.
	Files map[string]*manifest.VolumeFiles `json:"files,omitempty"`
	// PullSecrets are the registry credentials of imagePullSecrets (dockerconfigjson);
	// hidden as the values are.
	PullSecrets []string `json:"pullSecrets,omitempty"`
	// ServiceEnv holds the variables of the Services the pod can see, as at its creation.
	ServiceEnv []manifest.EnvVar `json:"serviceEnv,omitempty"`
	// Hosts maps the names of those Services (web, web.NAMESPACE, web.NAMESPACE.svc,
	// web.NAMESPACE.svc.cluster.local) to their addresses, for the pod's hosts file.
	Hosts map[string]string `json:"hosts,omitempty"`
}

// WithValues attaches what the pod takes from ConfigMaps and Secrets (nil: nothing).
func (s PodSpec) WithValues(v *manifest.PodValues) PodSpec {
	if v != nil {
		s.Resolved, s.Files, s.PullSecrets = v.Env, v.Files, v.PullSecrets
	}
	return s
}

// Hidden returns the spec without the values taken from ConfigMaps and Secrets: what
// a backend may show or store in plain sight.
func (s PodSpec) Hidden() PodSpec {
	s.Resolved, s.Files, s.PullSecrets = nil, nil, nil
	return s
}

// Pod is a pod as the backend runs it.
type Pod struct {
	ID string // the backend's own identity of the pod
	PodSpec
	UID     string
	Created time.Time
	Status  PodStatus
}

// Pod phases, as Kubernetes names them.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	PodUnknown   = "Unknown"
)

// PodStatus is the observed state of a pod.
type PodStatus struct {
	Phase      string    `json:"phase"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
	PodIP      string    `json:"podIP,omitempty"`
	StartTime  time.Time `json:"startTime,omitzero"`
	Ready      bool      `json:"ready"`
	ReadySince time.Time `json:"readySince,omitzero"`
	// Terminating is a pod being stopped: it no longer counts toward its owner.
	Terminating bool `json:"terminating,omitempty"`
	// TerminatingSince is when the pod was marked terminating, where the backend keeps it
	// (kubectl's deletionTimestamp).
	TerminatingSince time.Time         `json:"terminatingSince,omitzero"`
	Containers       []ContainerStatus `json:"containerStatuses,omitempty"`
	// InitContainers are the pod's init containers (native sidecars among them), in order.
	InitContainers []ContainerStatus `json:"initContainerStatuses,omitempty"`
}

// Active reports whether the pod counts toward its ReplicaSet: not finished and not
// being stopped.
func (s *PodStatus) Active() bool {
	return s.Phase != PodSucceeded && s.Phase != PodFailed && !s.Terminating
}

// Restarts is the highest restart count of the pod's containers.
func (s *PodStatus) Restarts() int32 {
	var n int32
	for _, c := range s.Containers {
		n = max(n, c.RestartCount)
	}
	return n
}

// Container states.
const (
	StateWaiting    = "waiting"
	StateRunning    = "running"
	StateTerminated = "terminated"
)

// ContainerStatus is the observed state of one container.
type ContainerStatus struct {
	Name            string       `json:"name"`
	State           string       `json:"state"`
	Reason          string       `json:"reason,omitempty"`
	Message         string       `json:"message,omitempty"`
	Ready           bool         `json:"ready"`
	Started         bool         `json:"started"`
	RestartCount    int32        `json:"restartCount"`
	ExitCode        int          `json:"exitCode,omitempty"`
	StartedAt       time.Time    `json:"startedAt,omitzero"`
	FinishedAt      time.Time    `json:"finishedAt,omitzero"`
	LastTermination *Termination `json:"lastTermination,omitempty"`
}

// PostStartHookError begins the message of a container whose postStart hook failed (the
// container is then killed and restarted per policy); the controllers turn it into a
// FailedPostStartHook event.
const PostStartHookError = "PostStartHookError: "

// Termination is how a container instance ended.
type Termination struct {
	ExitCode   int       `json:"exitCode"`
	Reason     string    `json:"reason"`
	Message    string    `json:"message,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// Record is an object that the backend keeps for kgit (one applied from git, of any
// kind, or a ReplicaSet kgit's controllers made), labelled like the pods, so that it too
// survives the loss of the state directory.
type Record struct {
	Kind, Namespace, Name string
	Labels                map[string]string
	Created               time.Time
	Data                  []byte // the object as JSON
	Status                []byte // what the controller last observed, as JSON (optional)
}

// LogOptions selects what Logs returns.
type LogOptions struct {
	Follow   bool
	Tail     int // lines from the end; < 0 means all
	Previous bool
	// Since, when set, drops the lines written before it (kubectl's --since and
	// --since-time); Tail counts the lines from the end before it is applied, as the
	// kubelet does.
	Since time.Time
	// Timestamps begins each line with the time it was written (RFC 3339 with
	// nanoseconds, UTC, and a space), as kubectl's --timestamps.
	Timestamps bool
}

// Backend runs pods. Implementations: process (the embedded default), docker (a Docker
// Engine or Podman's compatible socket), memory (unit tests and benchmarks only).
//
// A backend knows pods by its own ID (opaque to kgit: process and memory make theirs
// up, docker uses the container's); kgit never builds one, it takes them from ListPods.
type Backend interface {
	// Name is the backend's name as --backend spells it.
	Name() string
	// Available says, with a clear message, why the backend cannot be used.
	Available(ctx context.Context) error
	// Capabilities says what the backend can do, in one place.
	Capabilities() Capabilities

	// CreatePod creates and starts a pod; a pod of the same namespace and name that
	// still exists makes it fail with ErrAlreadyExists.
	CreatePod(ctx context.Context, spec PodSpec) (*Pod, error)
	// ListPods returns the pods whose labels include every selector label. It is a
	// read: it changes nothing (a container that stopped is reported as stopped, and
	// restarted by Restart, not by a listing).
	ListPods(ctx context.Context, selector map[string]string) ([]*Pod, error)
	// DeletePod stops a pod (SIGTERM, grace, SIGKILL) and removes it; it returns when the
	// pod's processes are gone.
	DeletePod(ctx context.Context, id string, grace time.Duration) error
	Logs(ctx context.Context, id, container string, opts LogOptions, w io.Writer) error

	PutRecord(ctx context.Context, r Record) error
	ListRecords(ctx context.Context, selector map[string]string) ([]Record, error)
	DeleteRecord(ctx context.Context, r Record) error

	// Lock takes the per-app sync lock, waiting up to wait; it fails with *LockedError.
	Lock(ctx context.Context, app string, wait time.Duration) (release func(), err error)
}

// Capabilities are what a backend can do beyond the Backend interface. The
// conformance suite (backendtest) checks each one a backend declares.
type Capabilities struct {
	// Isolated: pods are apart from the host (their own network, processes, files), so
	// kgit refuses host access there (hostNetwork, hostPID, hostIPC, privileged, added
	// capabilities, hostPath volumes) unless the user allows it.
	Isolated bool
	// Unhonoured lists pod spec fields (as manifest.Unhonoured matches them) that the
	// backend accepts but ignores; kgit warns once for each one a manifest sets.
	Unhonoured []string
	// Routes: the backend routes Services' traffic to their ready pods (Router).
	Routes bool
	// MarksTerminating: the backend can mark a pod terminating at once (Terminator).
	MarksTerminating bool
	// Tends: the runtime does not do all of the kubelet's work on its own, and the
	// controllers must call Tend on each pod they keep (Tender).
	Tends bool
	// Execs: the backend runs a command in a running container, as kubectl exec does
	// (Execer).
	Execs bool
	// Forwards: the backend connects to a pod's port from the machine kgit runs on, as
	// kubectl port-forward does (PortForwarder).
	Forwards bool
	// Meters: the backend measures the CPU and memory its pods' containers use, as
	// kubectl top shows them (Meter).
	Meters bool
}

// Usage is what one running container uses: CPU in millicores (averaged over the
// backend's sample) and memory in bytes (resident or working set).
type Usage struct {
	Container   string
	CPUMilli    int64
	MemoryBytes int64
}

// Meter is implemented by backends that measure their pods' use of CPU and memory.
type Meter interface {
	// Measure returns, by pod ID, the use of each running container of pods; a pod
	// with no running container has none. It takes about one sample's time.
	Measure(ctx context.Context, pods []*Pod) (map[string][]Usage, error)
}

// MeterOf returns the backend's Meter when it declares that it measures pods.
func MeterOf(b Backend) (Meter, bool) {
	m, ok := b.(Meter)
	return m, ok && b.Capabilities().Meters
}

// ExecOptions is how Exec runs a command in a container.
type ExecOptions struct {
	Command []string
	// Stdin, when not nil, is copied to the command's standard input until it ends;
	// the command then reads end-of-file. Without it the command's input is empty.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY gives the command a terminal: Stdin and Stdout are the user's terminal
	// (*os.File), and the command's output and errors both go to it.
	TTY bool
}

// Execer is implemented by backends that run a command in a running container, in its
// environment, working directory, address and files, as an exec probe runs.
type Execer interface {
	// Exec runs opts.Command in the container and returns its exit code; err is for
	// a command that could not run at all (no such container, not running, ...).
	Exec(ctx context.Context, p *Pod, container string, opts ExecOptions) (code int, err error)
}

// PortForwarder is implemented by backends that reach a pod's ports from the machine
// kgit runs on.
type PortForwarder interface {
	// DialPod connects to a TCP port of a pod.
	DialPod(ctx context.Context, p *Pod, port int) (net.Conn, error)
}

// DialPodIP connects to a port at a pod's address: what PortForwarder does on the
// backends whose pods' addresses the host reaches.
func DialPodIP(ctx context.Context, p *Pod, port int) (net.Conn, error) {
	if p.Status.PodIP == "" {
		return nil, fmt.Errorf("pod %s has no address", p.Name)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", net.JoinHostPort(p.Status.PodIP, strconv.Itoa(port)))
}

// ExecerOf returns the backend's Execer when it declares that it execs.
func ExecerOf(b Backend) (Execer, bool) {
	e, ok := b.(Execer)
	return e, ok && b.Capabilities().Execs
}

// PortForwarderOf returns the backend's PortForwarder when it declares that it forwards.
func PortForwarderOf(b Backend) (PortForwarder, bool) {
	f, ok := b.(PortForwarder)
	return f, ok && b.Capabilities().Forwards
}

// Terminator is implemented by backends that can mark a pod as terminating at once,
// before the slower stop that DeletePod does: from then on every reader of the backend
// stops counting the pod, as the API server's deletionTimestamp makes it.
type Terminator interface {
	MarkTerminating(ctx context.Context, id string) error
}

// Tender is implemented by backends whose runtime does not do all of the kubelet's work
// on its own. Tend does the rest for one pod: it restarts a container whose liveness or
// startup probe failed, and a container that its restart policy says should run but that
// the runtime left stopped (Docker does not restart a container stopped by hand). The
// controllers call it on every pass over the pods they keep; a read (ListPods) never
// changes a container.
type Tender interface {
	Tend(ctx context.Context, p *Pod) error
}

// IngressHost is implemented by backends that route Services on kgit's machine, where
// kgit's ingress controller runs (backend/ingress): IngressDir is the folder of its
// configuration, one per backend (the process backend's root, a docker engine).
type IngressHost interface {
	IngressDir() string
}

// IngressHostOf returns the backend's IngressHost when it routes Services.
func IngressHostOf(b Backend) (IngressHost, bool) {
	h, ok := b.(IngressHost)
	_, routes := RouterOf(b)
	return h, ok && routes
}

// Fingerprinter is implemented by backends that can tell, without reading them, that
// nothing an app's sync reads has changed. Fingerprint returns a digest that changes
// whenever what ListRecords and ListPods return for the app, or what Routes returns,
// could have changed: a record written or edited by hand, a pod created, deleted or
// changing status, a supervising process that died. Equal digests mean the same state;
// a caller keeps one beside a sync that changed nothing (see kgit's steady syncs).
type Fingerprinter interface {
	Fingerprint(ctx context.Context, app string) (string, error)
}

// ClaimRemover is implemented by backends that keep the data of persistentVolumeClaim
// volumes apart from the pods (it outlives them): RemoveClaim deletes a claim's data
// once the claim is pruned.
type ClaimRemover interface {
	RemoveClaim(ctx context.Context, ns, name string) error
}

// RouterOf returns the backend's Router when it declares that it routes Services.
func RouterOf(b Backend) (Router, bool) {
	r, ok := b.(Router)
	return r, ok && b.Capabilities().Routes
}

// TerminatorOf returns the backend's Terminator when it declares that it marks pods.
func TerminatorOf(b Backend) (Terminator, bool) {
	t, ok := b.(Terminator)
	return t, ok && b.Capabilities().MarksTerminating
}

// TenderOf returns the backend's Tender when it declares that pods need tending.
func TenderOf(b Backend) (Tender, bool) {
	t, ok := b.(Tender)
	return t, ok && b.Capabilities().Tends
}

// ErrNotFound is returned for a pod or record that does not exist.
var ErrNotFound = errors.New("not found")

// ErrAlreadyExists is returned when a pod's name is taken.
var ErrAlreadyExists = errors.New("already exists")

// LockedError says who holds an app's sync lock.
type LockedError struct {
	App    string
	Holder string
	Since  time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("another sync of app %q holds the lock (%s, since %s)", e.App, e.Holder, e.Since.Format(time.RFC3339))
}

// Matches reports whether labels include every selector label.
func Matches(labels, selector map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// IsSidecar reports whether an init container is a native sidecar (restartPolicy
// Always): started in order with the others, and kept running beside the app containers.
func IsSidecar(c *manifest.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == "Always"
}

// InitRestartPolicy is how an init container is restarted: Always for a sidecar, else
// Never in a pod whose policy is Never and OnFailure otherwise, as the kubelet does.
func InitRestartPolicy(pod string, c *manifest.Container) string {
	switch {
	case IsSidecar(c):
		return "Always"
	case pod == "Never":
		return "Never"
	}
	return "OnFailure"
}

// PodPhaseOf is PodPhase with the pod's init containers: Pending until each regular init
// container has succeeded and each sidecar has started, Failed when one failed under
// restartPolicy Never; the pod is ready when its sidecars are ready too.
func PodPhaseOf(spec *manifest.PodSpec, init, cs []ContainerStatus) (string, bool) {
	sidecarsReady := true
	for i := range spec.InitContainers {
		if i >= len(init) {
			return PodPending, false
		}
		c := &init[i]
		if IsSidecar(&spec.InitContainers[i]) {
			if c.State == StateWaiting && c.RestartCount == 0 && c.LastTermination == nil {
				return PodPending, false // not started yet
			}
			sidecarsReady = sidecarsReady && c.State == StateRunning && c.Ready
			continue
		}
		switch {
		case c.State == StateTerminated && c.ExitCode == 0:
		case c.State == StateTerminated && spec.RestartPolicy == "Never":
			return PodFailed, false
		default:
			return PodPending, false
		}
	}
	phase, ready := PodPhase(spec.RestartPolicy, cs)
	return phase, ready && sidecarsReady
}

// PodPhase is the kubelet's getPhase; the pod is ready when every container runs and is
// ready (started, and passing its readiness probe if it has one).
func PodPhase(policy string, cs []ContainerStatus) (string, bool) {
	running, waiting, succeeded, failed := 0, 0, 0, 0
	for _, c := range cs {
		switch c.State {
		case StateRunning:
			running++
		case StateWaiting:
			if c.LastTermination == nil && c.RestartCount == 0 {
				waiting++
			} else {
				running++ // restarting: the kubelet counts a back-off wait as running
			}
		case StateTerminated:
			if c.ExitCode == 0 {
				succeeded++
			} else {
				failed++
			}
		}
	}
	ready := len(cs) > 0
	for _, c := range cs {
		ready = ready && c.State == StateRunning && c.Ready
	}
	switch {
	case waiting > 0:
		return PodPending, false
	case running > 0:
		return PodRunning, ready
	case policy == "Always" || policy == "OnFailure" && failed > 0:
		return PodRunning, false
	case failed > 0:
		return PodFailed, false
	case succeeded > 0:
		return PodSucceeded, false
	}
	return PodPending, false
}

// Service is a Service as a backend routes it.
type Service struct {
	Name, Namespace string
	Labels          map[string]string
	Spec            manifest.ServiceSpec
	// ClusterIP is the Service's address, assigned by the backend and kept for the
	// Service's life; NodePorts are the assigned node ports by service port number.
	ClusterIP string          `json:"clusterIP"`
	NodePorts map[int32]int32 `json:"nodePorts,omitempty"`
	// LoadBalancer is where a LoadBalancer Service answers on its own ports (127.0.0.1),
	// once its proxy listens there; Pending says why it could not (a port the host
	// holds), as a cloud's load balancer stays <pending>.
	LoadBalancer string `json:"loadBalancer,omitempty"`
	Pending      string `json:"pending,omitempty"`
}

// WithoutStatus is the route as asked for: without what its proxy reported.
func (s Service) WithoutStatus() Service {
	s.LoadBalancer, s.Pending = "", ""
	return s
}

// Router is implemented by backends that route Services' traffic to ready pods.
type Router interface {
	// Route makes traffic for svc reach its ready pods: it creates or updates the route
	// and restarts its proxy if it stopped. It returns the route with its addresses.
	Route(ctx context.Context, svc Service) (*Service, error)
	// Routes returns the routes whose labels include every selector label.
	Routes(ctx context.Context, selector map[string]string) ([]*Service, error)
	// Unroute removes a route; its traffic stops.
	Unroute(ctx context.Context, ns, name string) error
}
