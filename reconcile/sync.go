// Package reconcile is kgit's GitOps layer: what to apply of a commit, what differs,
// what to prune, which overrides (rollbacks, scales made by hand) hold, the history and
// the journal. It is the same for every target; a Target (see target.go) stores and runs
// what it is given.
package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"kgit.dev/kgit/manifest"
)

// ErrEmptyDesired refuses to prune everything: the manifests produced no object while
// the backend runs objects of the app.
var ErrEmptyDesired = errors.New("the manifests hold no object but the app runs some: refusing to delete everything without --allow-empty")

// ErrTimeout is a sync that did not converge within --timeout.
var ErrTimeout = errors.New("timed out waiting for the app to converge")

// RolloutError is a sync whose rollouts stopped progressing: the progress deadline of
// each named Deployment was exceeded.
type RolloutError struct {
	Deployments []manifest.Key
	Failures    []string // one line per Deployment: what is not available and why
}

func (e *RolloutError) Error() string {
	return "rollout failed: " + strings.Join(e.Failures, "; ")
}

// JobError is a sync whose Jobs failed: their backoff limit or active deadline was
// reached. Like a failed rollout it is exit 4.
type JobError struct {
	Jobs     []manifest.Key
	Failures []string // one line per Job: why it failed, naming the pod and its exit
}

func (e *JobError) Error() string {
	return "job failed: " + strings.Join(e.Failures, "; ")
}

// Syncer applies commits of one app to a target.
type Syncer struct {
	Target Target
	Emitter
}

// SyncOptions are the choices of one sync.
type SyncOptions struct {
	Commit     string
	Prune      bool
	AllowEmpty bool
	// Force drops every override (rollbacks and scales made by hand).
	Force bool
	// AppRollback, when set, marks every object applied as a whole-app rollback to
	// Commit that holds until a sync of a commit other than AppRollback.Base.
	AppRollback *Override
}

// Sync applies the desired objects, prunes what left git, and waits until the target
// has converged or ctx ends. Every step is recomputed from what the target reports, so
// a sync killed at any point is finished by the next.
func (s *Syncer) Sync(ctx context.Context, desired []*manifest.Object, opts SyncOptions) error {
	err := s.sync(ctx, desired, opts)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrTimeout) {
		// ctx ended while applying (a cluster's request, a lock): a timeout all the same
		err = fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return err
}

func (s *Syncer) sync(ctx context.Context, desired []*manifest.Object, opts SyncOptions) error {
	live, err := s.Target.Load(ctx)
	if err != nil {
		return err
	}
	applied := live.Applied()
	if len(desired) == 0 && opts.Prune && !opts.AllowEmpty && (len(applied) > 0 || live.Running()) {
		return ErrEmptyDesired
	}
	if o, held := appRollback(applied); held && o.Base == opts.Commit && !opts.Force && opts.AppRollback == nil {
		s.Emit("app/"+s.App, "OverrideKept", "app %s: kept rolled back to %.12s by an override until the branch moves past %.12s (--force drops it)", s.App, o.Target, o.Base)
		return s.Target.Converge(ctx, live)
	}
	changed := 0
	want := make(map[manifest.Key]bool, len(desired))
	for _, o := range desired {
		if opts.AppRollback != nil {
			o = markAppRollback(o, *opts.AppRollback)
		}
		want[o.Key()] = true
		did, err := s.apply(ctx, live, o, opts.Commit, opts.Force)
		if err != nil {
			return err
		}
		if did {
			changed++
		}
	}
	if opts.Prune {
		for _, a := range pruneOrder(applied, want) {
			if a.Key.Kind == "Namespace" {
				s.keptInNamespace(a.Key.Name, desired)
			}
			if err := s.Target.Prune(ctx, live, a); err != nil {
				return err
			}
			s.Emit(ObjectName(a.Key), "Pruned", "%s pruned", ObjectName(a.Key))
			changed++
		}
	}
	if changed > 0 {
		live = nil // the target changed: converge reads it again
	}
	return s.Target.Converge(ctx, live)
}

// pruneOrder is what leaves git, in the order it is deleted: what runs first (by kind,
// namespace, name), then the claims its pods mounted, then the Namespaces, each after
// everything of the app that was in it, as deleting a Namespace deletes its content
// first.
func pruneOrder(applied map[manifest.Key]*Applied, want map[manifest.Key]bool) []*Applied {
	var out []*Applied
	for _, a := range SortedApplied(applied) {
		if !want[a.Key] {
			out = append(out, a)
		}
	}
	rank := func(k manifest.Key) int {
		switch k.Kind {
		case "PersistentVolumeClaim":
			return 1
		case "Namespace":
			return 2
		}
		return 0
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Key) < rank(out[j].Key) })
	return out
}

// keptInNamespace says which objects still in git a pruned Namespace held: they stay
// (git is the desired state), where a cluster would delete them with it and then fail to
// apply them into a Namespace that is gone.
func (s *Syncer) keptInNamespace(ns string, desired []*manifest.Object) {
	var kept []string
	for _, o := range desired {
		if o.Key().Namespace == ns && o.Kind().Namespaced {
			kept = append(kept, ObjectName(o.Key()))
		}
	}
	if len(kept) > 0 {
		sort.Strings(kept)
		s.Emit("namespace/"+ns, "NamespaceContentKept", "namespace %s pruned: kept what git still puts in it (%s); a cluster would delete it with the Namespace", ns, strings.Join(kept, ", "))
	}
}

// apply hands the target an object when it is new or changed, unless an override on the
// live object holds. It reports whether it applied anything.
func (s *Syncer) apply(ctx context.Context, live Live, o *manifest.Object, commit string, force bool) (bool, error) {
	k := o.Key()
	old := live.Applied()[k]
	obj := o.Obj
	if old != nil {
		var kept string
		if obj, kept = keepOverride(old, o, commit, force); kept != "" {
			s.Emit(ObjectName(k), "OverrideKept", "%s", kept)
		}
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return false, err
	}
	if old != nil && sameJSON(old.Data, data) {
		return false, nil
	}
	a := &Applied{Key: k, Object: obj, Commit: commit, Created: s.Time().UTC(), Data: data}
	if (old == nil || obj != old.Object) && (obj == o.Obj || !restarted(obj)) {
		// not for a rollback that holds (that is the live object), nor for a restart that
		// holds (its template annotation is kgit's, not git's): the target applies Object
		a.Raw = o.Raw
	}
	if old != nil {
		a.Created = old.Created
		if obj == old.Object {
			a.Commit = old.Commit // a rollback that holds keeps the commit it came from
		}
	}
	if err := s.Target.Apply(ctx, live, a); err != nil {
		return false, fmt.Errorf("apply %s: %w", k, err)
	}
	verb := "created"
	if old != nil {
		verb = "configured"
	}
	s.Emit(ObjectName(k), "Applied", "%s %s", ObjectName(k), verb)
	return true, nil
}

// Converge waits for the app to converge without applying anything.
func (s *Syncer) Converge(ctx context.Context) error {
	return s.Target.Converge(ctx, nil)
}

// Down removes every object of the app.
func (s *Syncer) Down(ctx context.Context) error {
	return s.Target.Down(ctx)
}

// appRollback reports a whole-app rollback recorded on the app's objects.
func appRollback(applied map[manifest.Key]*Applied) (Override, bool) {
	for _, a := range applied {
		_, meta := manifest.MetaOf(a.Object)
		if o := OverrideOf(meta.Annotations); o.Kind == "app-rollback" {
			return o, true
		}
	}
	return Override{}, false
}

// markAppRollback returns a copy of o annotated as part of a whole-app rollback.
func markAppRollback(o *manifest.Object, ov Override) *manifest.Object {
	c := *o
	c.Obj = manifest.Copy(o.Obj)
	_, meta := c.Meta()
	meta.Annotations = withOverride(meta.Annotations, ov)
	return &c
}

// ObjectName is how kubectl names an object: deployment.apps/web, pod/web,
// role.rbac.authorization.k8s.io/reader (a kind kgit's table does not know: kind/name).
func ObjectName(k manifest.Key) string {
	if kind, ok := manifest.LookupKind(k.Kind); ok && kind.Kind == k.Kind {
		return kind.ObjectName(k.Name)
	}
	return k.String()
}

// SortedApplied returns applied objects in a stable order: by kind, namespace, name.
func SortedApplied(applied map[manifest.Key]*Applied) []*Applied {
	out := make([]*Applied, 0, len(applied))
	for _, a := range applied {
		out = append(out, a)
	}
	sortApplied(out)
	return out
}

// restarted reports whether obj carries a restart override (kgit rollout restart).
func restarted(obj any) bool {
	d, ok := obj.(*manifest.Deployment)
	return ok && OverrideOf(d.Annotations).Kind == "restart"
}

// sameJSON reports whether two JSON documents hold the same value: the same bytes, or
// the same once decoded (a cluster returns an object's keys sorted where git has them
// in the order written).
func sameJSON(a, b []byte) bool {
	if string(a) == string(b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
