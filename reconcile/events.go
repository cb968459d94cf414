package reconcile

import (
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

// ProgressSink receives a Deployment's status whenever it changes during a sync.
type ProgressSink interface {
	Progress(deployment string, desired int, p Progress)
}
