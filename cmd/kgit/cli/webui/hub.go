package webui

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// hub keeps the one snapshot every page reads: it reads the Source at most once per
// interval however many pages are open (concurrent requests share one read), and while
// pages follow it over server-sent events it reads once per interval and sends each
// page its view of the new snapshot when that view changed.
type hub struct {
	src      Source
	interval time.Duration
	render   func(snap *Snapshot, path string) ([]byte, error)

	mu      sync.Mutex
	snap    *Snapshot
	readAt  time.Time
	reading chan struct{} // closed when the read under way ends
	readErr error
	subs    map[*subscriber]bool
	reads   int // Source reads so far (for tests)
}

type subscriber struct {
	mu   sync.Mutex // guards last: the first view is sent by the page's handler
	path string
	last []byte
	ch   chan []byte // holds the newest payload not yet sent
}

func newHub(src Source, interval time.Duration, render func(*Snapshot, string) ([]byte, error)) *hub {
	return &hub{src: src, interval: interval, render: render, subs: map[*subscriber]bool{}}
}

// current returns a snapshot no older than the interval, reading it when needed; a
// read under way is waited for, not repeated.
func (h *hub) current(ctx context.Context) (*Snapshot, error) {
	h.mu.Lock()
	if h.snap != nil && time.Since(h.readAt) < h.interval {
		s := h.snap
		h.mu.Unlock()
		return s, nil
	}
	return h.readLocked(ctx)
}

// refresh reads a new snapshot now (or joins the read under way).
func (h *hub) refresh(ctx context.Context) (*Snapshot, error) {
	h.mu.Lock()
	return h.readLocked(ctx)
}

func (h *hub) readLocked(ctx context.Context) (*Snapshot, error) {
	if wait := h.reading; wait != nil {
		h.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.snap == nil {
			return nil, h.readErr
		}
		return h.snap, nil
	}
	done := make(chan struct{})
	h.reading = done
	h.reads++
	h.mu.Unlock()
	// The read is shared: it must not end with the request that started it.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	snap, err := h.src.Read(rctx)
	cancel()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reading = nil
	h.readErr = err
	if err == nil {
		h.snap, h.readAt = snap, time.Now()
	}
	close(done)
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// Reads returns how many times the hub read its Source.
func (h *hub) Reads() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads
}

func (h *hub) subscribe(path string) *subscriber {
	s := &subscriber{path: path, ch: make(chan []byte, 1)}
	h.mu.Lock()
	h.subs[s] = true
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// offer sends s its view of snap when it changed; rendered caches each path's view
// for the subscribers that share it.
func (h *hub) offer(s *subscriber, snap *Snapshot, rendered map[string][]byte) {
	data, ok := rendered[s.path]
	if !ok {
		var err error
		if data, err = h.render(snap, s.path); err != nil {
			data = errorPayload(err)
		}
		rendered[s.path] = data
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Equal(data, s.last) {
		return
	}
	s.last = data
	select {
	case <-s.ch: // a slow page gets only the newest view
	default:
	}
	s.ch <- data
}

// run reads once per interval while any page follows, until ctx ends.
func (h *hub) run(ctx context.Context) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		n := len(h.subs)
		h.mu.Unlock()
		if n == 0 {
			continue
		}
		snap, err := h.refresh(ctx)
		if err != nil {
			continue // the pages keep what they show; the next tick tries again
		}
		h.mu.Lock()
		subs := make([]*subscriber, 0, len(h.subs))
		for s := range h.subs {
			subs = append(subs, s)
		}
		h.mu.Unlock()
		rendered := map[string][]byte{}
		for _, s := range subs {
			h.offer(s, snap, rendered)
		}
	}
}
