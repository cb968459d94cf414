// Package memory is an in-memory backend for unit tests and benchmarks of the
// reconciler. It runs nothing: a pod is Running and Ready as soon as it is created. It
// is never a default.
package memory

import (
	"context"
	"fmt"
	"io"
	"maps"
	"sync"
	"time"

	"kgit.dev/kgit/backend"
)

// Backend keeps pods, records and Services' routes in maps. Its pod IDs are opaque
// (mem-N), as docker's are, so that nothing above a backend can build one.
type Backend struct {
	mu      sync.Mutex
	pods    map[string]*backend.Pod
	records map[string]backend.Record
	routes  map[string]*backend.Service // by namespace/name
	locks   map[string]bool
	seq     int
	// Hold, when set, is consulted on create: pods for which it returns true stay
	// Pending and not ready (to test rollouts that never become available).
	Hold func(backend.PodSpec) bool
	// DeleteDelay is how long DeletePod takes, as a pod's grace period would.
	DeleteDelay time.Duration
}

// New returns an empty memory backend.
func New() *Backend {
	return &Backend{pods: map[string]*backend.Pod{}, records: map[string]backend.Record{}, routes: map[string]*backend.Service{}, locks: map[string]bool{}}
}

func (b *Backend) Name() string                        { return "memory" }
func (b *Backend) Available(ctx context.Context) error { return nil }

// Capabilities implements backend.Backend: the memory backend routes Services (it
// assigns addresses; nothing carries traffic).
func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{Routes: true}
}

// CreatePod implements backend.Backend.
func (b *Backend) CreatePod(ctx context.Context, spec backend.PodSpec) (*backend.Pod, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.pods {
		if p.Namespace == spec.Namespace && p.Name == spec.Name {
			return nil, fmt.Errorf("pod %s/%s: %w", spec.Namespace, spec.Name, backend.ErrAlreadyExists)
		}
	}
	b.seq++
	id := fmt.Sprintf("mem-%d", b.seq)
	now := time.Now().UTC()
	p := &backend.Pod{ID: id, PodSpec: spec, UID: fmt.Sprintf("uid-%d", b.seq), Created: now}
	p.Status = backend.PodStatus{Phase: backend.PodRunning, Ready: true, ReadySince: now, StartTime: now, PodIP: fmt.Sprintf("127.0.%d.%d", b.seq/250, 1+b.seq%250)}
	if b.Hold != nil && b.Hold(spec) {
		p.Status = backend.PodStatus{Phase: backend.PodPending}
	}
	for _, c := range spec.Spec.Containers {
		p.Status.Containers = append(p.Status.Containers, backend.ContainerStatus{Name: c.Name, State: backend.StateRunning, Ready: p.Status.Ready, StartedAt: now})
	}
	b.pods[id] = p
	return clone(p), nil
}

// clone copies a pod deep enough that a later SetStatus never changes a copy handed out.
func clone(p *backend.Pod) *backend.Pod {
	c := *p
	c.Labels = maps.Clone(p.Labels)
	c.Status.Containers = append([]backend.ContainerStatus(nil), p.Status.Containers...)
	for i, cs := range c.Status.Containers {
		if cs.LastTermination != nil {
			t := *cs.LastTermination
			c.Status.Containers[i].LastTermination = &t
		}
	}
	return &c
}

// ListPods implements backend.Backend.
func (b *Backend) ListPods(ctx context.Context, selector map[string]string) ([]*backend.Pod, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*backend.Pod
	for _, p := range b.pods {
		if backend.Matches(p.Labels, selector) {
			out = append(out, clone(p))
		}
	}
	return out, nil
}

// SetStatus replaces a pod's status (tests use it to kill or ready pods).
func (b *Backend) SetStatus(id string, f func(*backend.PodStatus)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.pods[id]; ok {
		f(&p.Status)
	}
}

// DeletePod implements backend.Backend.
func (b *Backend) DeletePod(ctx context.Context, id string, grace time.Duration) error {
	time.Sleep(b.DeleteDelay)
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pods, id)
	return nil
}

// Logs implements backend.Backend: memory pods write nothing.
func (b *Backend) Logs(ctx context.Context, id, container string, opts backend.LogOptions, w io.Writer) error {
	return nil
}

func recordKey(r backend.Record) string {
	return r.Labels[backend.LabelApp] + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// PutRecord implements backend.Backend.
func (b *Backend) PutRecord(ctx context.Context, r backend.Record) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.records[recordKey(r)] = r
	return nil
}

// ListRecords implements backend.Backend.
func (b *Backend) ListRecords(ctx context.Context, selector map[string]string) ([]backend.Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []backend.Record
	for _, r := range b.records {
		if backend.Matches(r.Labels, selector) {
			out = append(out, r)
		}
	}
	return out, nil
}

// DeleteRecord implements backend.Backend.
func (b *Backend) DeleteRecord(ctx context.Context, r backend.Record) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.records, recordKey(r))
	return nil
}

// Lock implements backend.Backend.
func (b *Backend) Lock(ctx context.Context, app string, wait time.Duration) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locks[app] {
		return nil, &backend.LockedError{App: app, Holder: "this process", Since: time.Now()}
	}
	b.locks[app] = true
	return func() { b.mu.Lock(); delete(b.locks, app); b.mu.Unlock() }, nil
}

// Route implements backend.Router: a Service gets an address from 10.96.0.0/16, kept
// for its life, and node ports from 30000 when its type asks for them.
func (b *Backend) Route(ctx context.Context, svc backend.Service) (*backend.Service, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := svc.Namespace + "/" + svc.Name
	r := svc
	if old := b.routes[key]; old != nil {
		r.ClusterIP, r.NodePorts = old.ClusterIP, old.NodePorts
	} else {
		b.seq++
		r.ClusterIP = fmt.Sprintf("10.96.%d.%d", b.seq/250, 1+b.seq%250)
	}
	if svc.Spec.Type == "NodePort" || svc.Spec.Type == "LoadBalancer" {
		ports := map[int32]int32{}
		for _, p := range svc.Spec.Ports {
			if n := r.NodePorts[p.Port]; n != 0 {
				ports[p.Port] = n
			} else if p.NodePort != 0 {
				ports[p.Port] = p.NodePort
			} else {
				b.seq++
				ports[p.Port] = int32(30000 + b.seq%2768)
			}
		}
		r.NodePorts = ports
	} else {
		r.NodePorts = nil
	}
	b.routes[key] = &r
	c := r
	return &c, nil
}

// Routes implements backend.Router.
func (b *Backend) Routes(ctx context.Context, selector map[string]string) ([]*backend.Service, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*backend.Service
	for _, r := range b.routes {
		if backend.Matches(r.Labels, selector) {
			c := *r
			out = append(out, &c)
		}
	}
	return out, nil
}

// Unroute implements backend.Router.
func (b *Backend) Unroute(ctx context.Context, ns, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.routes, ns+"/"+name)
	return nil
}
