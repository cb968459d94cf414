// Package webui is kgit's read-only web view (kgit ui): an HTTP server over one shared
// snapshot of every app, refreshed once per interval by a hub whatever the number of
// open pages, and pushed to them as server-sent events. The page is one embedded HTML
// shell and plain JavaScript that renders JSON with textContent: no template package
// (text/template would turn off the linker's dead-method elimination), no CDN, nothing
// to build. The package knows nothing of backends or git: a Source (the CLI's) reads.
package webui

import (
	"context"
	"io"
	"time"
)

// Source reads what the view shows. Read is the one backend read of an interval; the
// others work from a snapshot it returned (Logs alone reads the backend again).
type Source interface {
	Read(ctx context.Context) (*Snapshot, error)
	Object(ctx context.Context, snap *Snapshot, app, kind, name string) (*ObjectDetail, error)
	Logs(ctx context.Context, snap *Snapshot, app, pod string, opts LogOptions, w io.Writer) error
}

// LogOptions select a pod's log.
type LogOptions struct {
	Container string
	Previous  bool
	Follow    bool
	Tail      int
}

// Snapshot is every app as read at one time.
type Snapshot struct {
	Time    time.Time `json:"time"`
	Backend string    `json:"backend"`
	Apps    []*App    `json:"apps"`
	Events  []Event   `json:"-"` // every app's, oldest first
	Private any       `json:"-"` // the Source's own state, for Object and Logs
}

// App finds an app by name.
func (s *Snapshot) App(name string) *App {
	for _, a := range s.Apps {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Health values, worst last.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Missing     = "Missing"
	Degraded    = "Degraded"
)

// Worse returns the worse of two health values.
func Worse(a, b string) string {
	rank := map[string]int{"": 0, Healthy: 1, Progressing: 2, Missing: 3, Degraded: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Summary is an app's row in the apps list.
type Summary struct {
	Name        string    `json:"name"`
	Repo        string    `json:"repo"`
	Path        string    `json:"path"`
	Ref         string    `json:"ref"`
	Commit      string    `json:"commit"`  // deployed
	Subject     string    `json:"subject"` // of the deployed commit
	Head        string    `json:"head"`
	HeadSubject string    `json:"headSubject"`
	Behind      int       `json:"behind"` // -1: unknown
	Sync        string    `json:"sync"`   // Synced, OutOfSync, Unknown
	SyncError   string    `json:"syncError,omitempty"`
	Health      string    `json:"health"`
	Overrides   []string  `json:"overrides"`
	LastSync    *SyncInfo `json:"lastSync"`
	PodsReady   int       `json:"podsReady"`
	PodsDesired int       `json:"podsDesired"`
}

// SyncInfo is the last sync the journal holds.
type SyncInfo struct {
	Time     time.Time `json:"time"`
	Result   string    `json:"result"`
	Duration string    `json:"duration"`
	User     string    `json:"user"`
	Commit   string    `json:"commit"`
}

// App is one app: its summary and everything its pages show.
type App struct {
	Summary
	Nodes   []*Node    `json:"nodes"`
	History []Revision `json:"history"`
	Diffs   []Diff     `json:"diffs"`
}

// Node is one object of an app's resource tree; Parent names its owner (Kind/Name).
type Node struct {
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Namespace  string    `json:"namespace"`
	Parent     string    `json:"parent,omitempty"`
	Health     string    `json:"health,omitempty"`
	Desired    int       `json:"desired"`
	Current    int       `json:"current"`
	Updated    int       `json:"updated"`
	Ready      int       `json:"ready"`
	Available  int       `json:"available"`
	Revision   int       `json:"revision,omitempty"`
	Commit     string    `json:"commit,omitempty"`
	Hash       string    `json:"hash,omitempty"`
	Phase      string    `json:"phase,omitempty"`
	PodReady   bool      `json:"podReady,omitempty"`
	Restarts   int       `json:"restarts"`
	Created    time.Time `json:"created"`
	Address    string    `json:"address,omitempty"`
	Type       string    `json:"type,omitempty"`
	Ports      string    `json:"ports,omitempty"`
	Endpoints  []string  `json:"endpoints,omitempty"`
	UsedBy     []string  `json:"usedBy,omitempty"`
	Containers []string  `json:"containers,omitempty"`
	Message    string    `json:"message,omitempty"`
	Override   string    `json:"override,omitempty"`
	Terminated bool      `json:"terminating,omitempty"`
}

// Revision is one revision of a Deployment joined with git and the journal.
type Revision struct {
	Deployment string    `json:"deployment"`
	Number     int       `json:"revision"`
	Commit     string    `json:"commit"`
	Subject    string    `json:"subject"`
	Author     string    `json:"author"`
	Applied    time.Time `json:"applied"`
	Result     string    `json:"result"`
	Current    bool      `json:"current"`
	ReplicaSet string    `json:"replicaSet"`
}

// Diff is one object's unified diff, live to desired (Secret values masked).
type Diff struct {
	Name    string `json:"name"`
	Action  string `json:"action"`
	Unified string `json:"unified"`
}

// Event is a journalled event.
type Event struct {
	Time    time.Time `json:"time"`
	App     string    `json:"app"`
	Object  string    `json:"object"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Warning bool      `json:"warning"`
}

// ObjectDetail is one object's page.
type ObjectDetail struct {
	App      string  `json:"app"`
	Node     *Node   `json:"node"`
	Describe string  `json:"describe"`
	Live     string  `json:"live"`
	Desired  string  `json:"desired"`
	Diff     string  `json:"diff"`
	Events   []Event `json:"events"`
}
