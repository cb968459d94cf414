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

// Backend keeps pods and records in maps.
type Backend struct {
	mu      sync.Mutex
	pods    map[string]*backend.Pod
	records map[string]backend.Record
	locks   map[string]bool
	seq     int
	// Hold, when set, is consulted on create: pods for which it returns true stay
	// Pending and not ready (to test rollouts that never become available).
	Hold func(backend.PodSpec) bool
}

// New returns an empty memory backend.
func New() *Backend {
	return &Backend{pods: map[string]*backend.Pod{}, records: map[string]backend.Record{}, locks: map[string]bool{}}
}

func (b *Backend) Name() string                        { return "memory" }
func (b *Backend) Available(ctx context.Context) error { return nil }
func (b *Backend) Unhonoured() []string                { return nil }

// CreatePod implements backend.Backend.
func (b *Backend) CreatePod(ctx context.Context, spec backend.PodSpec) (*backend.Pod, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := spec.Namespace + "_" + spec.Name
	if _, ok := b.pods[id]; ok {
		return nil, fmt.Errorf("pod %s: %w", id, backend.ErrAlreadyExists)
	}
	b.seq++
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

func clone(p *backend.Pod) *backend.Pod {
	c := *p
	c.Labels = maps.Clone(p.Labels)
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
