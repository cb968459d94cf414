// Package backend defines what kgit needs from a place that runs pods, and the labels
// that let kgit read its whole state back from that place.
//
// A Backend runs pods and keeps kgit's controller records (Deployments, ReplicaSets)
// beside them; it knows nothing of rollouts. Everything kgit creates carries the
// kgit.dev/ labels, so the backend itself is the source of truth: losing kgit's state
// directory never loses track of what runs.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	// ServiceEnv holds the variables of the Services the pod can see, as at its creation.
	ServiceEnv []manifest.EnvVar `json:"serviceEnv,omitempty"`
	// Hosts maps the names of those Services (web, web.NAMESPACE, web.NAMESPACE.svc,
	// web.NAMESPACE.svc.cluster.local) to their addresses, for the pod's hosts file.
	Hosts map[string]string `json:"hosts,omitempty"`
}

// WithValues attaches what the pod takes from ConfigMaps and Secrets (nil: nothing).
func (s PodSpec) WithValues(v *manifest.PodValues) PodSpec {
	if v != nil {
		s.Resolved, s.Files = v.Env, v.Files
	}
	return s
}

// Hidden returns the spec without the values taken from ConfigMaps and Secrets: what
// a backend may show or store in plain sight.
func (s PodSpec) Hidden() PodSpec {
	s.Resolved, s.Files = nil, nil
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
	Terminating bool              `json:"terminating,omitempty"`
	Containers  []ContainerStatus `json:"containerStatuses,omitempty"`
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

// Termination is how a container instance ended.
type Termination struct {
	ExitCode   int       `json:"exitCode"`
	Reason     string    `json:"reason"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// Record is a controller object (a Deployment or ReplicaSet) that the backend keeps for
// kgit, labelled like the pods, so that it too survives the loss of the state directory.
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
}

// Backend runs pods. Implementations: process (the default), memory (tests).
type Backend interface {
	// Name is the backend's name as --backend spells it.
	Name() string
	// Available says, with a clear message, why the backend cannot be used.
	Available(ctx context.Context) error
	// Unhonoured lists pod spec fields (as manifest.Unhonoured matches them) that the
	// backend accepts but ignores.
	Unhonoured() []string

	CreatePod(ctx context.Context, spec PodSpec) (*Pod, error)
	// ListPods returns the pods whose labels include every selector label.
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

// Terminator is implemented by backends that can mark a pod as terminating at once,
// before the slower stop that DeletePod does: from then on every reader of the backend
// stops counting the pod, as the API server's deletionTimestamp makes it.
type Terminator interface {
	MarkTerminating(ctx context.Context, id string) error
}

// Isolated is implemented by backends whose pods are isolated from the host (their own
// network, processes, files): kgit refuses host access there (hostNetwork, hostPID,
// hostIPC, privileged, added capabilities, hostPath volumes) unless the user allows it.
type Isolated interface {
	Isolated() bool
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
