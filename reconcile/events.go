package reconcile

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Event is one thing a controller did or saw, in Kubernetes' event vocabulary
// (ScalingReplicaSet, SuccessfulCreate, Killing, ...).
type Event struct {
	Time    time.Time `json:"time"`
	App     string    `json:"app"`
	Object  string    `json:"object"` // deployment.apps/web, pod/web-abc-x7k2q
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
}

// EventSink receives events.
type EventSink interface{ Event(Event) }

// Sinks fans one event out to several sinks.
type Sinks []EventSink

// Event implements EventSink.
func (s Sinks) Event(e Event) {
	for _, sink := range s {
		if sink != nil {
			sink.Event(e)
		}
	}
}

// Printer writes one line per event, as progress on stderr.
type Printer struct {
	mu sync.Mutex
	W  io.Writer
}

// Event implements EventSink.
func (p *Printer) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Reason == "Applied" || e.Reason == "Pruned" {
		fmt.Fprintln(p.W, e.Message)
		return
	}
	fmt.Fprintf(p.W, "%s: %s\n", e.Object, e.Message)
}
