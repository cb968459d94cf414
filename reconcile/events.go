package reconcile

import (
	"fmt"
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

// Recorder keeps the events it is sent, in order; safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Event implements EventSink.
func (r *Recorder) Event(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns a copy of what was recorded.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Emitter is the one place an event is made: it stamps the time and the app, so no
// event reaches the journal without them.
type Emitter struct {
	Sink EventSink
	App  string
	Now  func() time.Time // for tests; default time.Now
}

// Time is the emitter's clock.
func (e *Emitter) Time() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Emit reports that obj (deployment.apps/web) did or saw something.
func (e *Emitter) Emit(obj, reason, format string, args ...any) {
	if e.Sink != nil {
		e.Sink.Event(Event{Time: e.Time().UTC(), App: e.App, Object: obj, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
}

// ProgressSink receives a Deployment's status whenever it changes during a sync.
type ProgressSink interface {
	Progress(deployment string, desired int, p Progress)
}
