package reconcile

import (
	"context"
	"time"

	"kgit.dev/kgit/manifest"
)

// Target is the seam between the GitOps layer and whatever runs an app. The GitOps layer
// (Syncer) decides what to apply, what to prune and which overrides hold; a target stores
// what it is given and runs it. kgit's own controllers driving a pod runtime are one
// target (reconcile/controller, over the process, docker and memory backends); a cluster,
// whose own controllers roll, is another.
//
// A target is bound to one app ("" for read-only use across every app). It reports what
// it does to the event and progress sinks it was made with.
type Target interface {
	// Name is the target's name as --backend spells it.
	Name() string
	// Load reads what the target holds of the app.
	Load(ctx context.Context) (Live, error)
	// Apply creates or replaces one object. live is the last Load; the target updates it.
	Apply(ctx context.Context, live Live, a *Applied) error
	// Prune deletes an applied object and everything it owns.
	Prune(ctx context.Context, live Live, a *Applied) error
	// Converge waits until every object of the app is healthy (a local target drives its
	// controllers meanwhile) or ctx ends. It returns a *RolloutError when a rollout failed,
	// an error wrapping ErrTimeout when ctx ended first. live, when not nil, is still what
	// the target holds (nothing was applied since Load): a no-op sync reads the target once.
	Converge(ctx context.Context, live Live) error
	// Down removes every object of the app.
	Down(ctx context.Context) error
	// History lists a Deployment's revisions, oldest first.
	History(live Live, k manifest.Key) []Revision
	// Lock takes the app's sync lock, waiting up to wait; it fails with a
	// *backend.LockedError when another sync holds it.
	Lock(ctx context.Context, wait time.Duration) (release func(), err error)
}

// Live is what a target holds of an app.
type Live interface {
	// Applied is every object applied for the app, by key.
	Applied() map[manifest.Key]*Applied
	// Running reports whether anything of the app runs, owned or not (a pod left by a
	// crash counts).
	Running() bool
}

// Applied is an object as kgit last applied it, read back from the target.
type Applied struct {
	Key     manifest.Key
	Object  any // a typed manifest object (*manifest.Deployment, ...)
	Commit  string
	Created time.Time
	// Data is the object as applied, as JSON: equal Data means nothing to apply.
	Data []byte
	// Raw is the document as written in git (manifest.Object.Raw), nil when the GitOps
	// layer made the object itself (a rollback to a revision, a scale). A target that
	// applies Raw takes the override annotations (and a scale's replicas) from Object.
	Raw []byte
}
