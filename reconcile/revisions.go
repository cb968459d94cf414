package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

// RevisionHistoryAnnotation lists the revisions a re-used ReplicaSet had before.
const RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"

// maxRevisionHistoryChars caps revision-history, as the controller does.
const maxRevisionHistoryChars = 2000

// SetRevision gives an annotation set a new revision; a revision it had before is
// appended to revision-history, oldest entries dropped to stay within limit characters.
func SetRevision(ann map[string]string, revision string, limit int) {
	old, had := ann[RevisionAnnotation]
	if had && old != revision && old != "" {
		var hist []string
		if h := ann[RevisionHistoryAnnotation]; h != "" {
			hist = strings.Split(h, ",")
		}
		hist = append(hist, old)
		for len(hist) > 0 && len(strings.Join(hist, ",")) > limit {
			hist = hist[1:]
		}
		if len(hist) > 0 {
			ann[RevisionHistoryAnnotation] = strings.Join(hist, ",")
		}
	}
	ann[RevisionAnnotation] = revision
}

// Revision is one entry of a Deployment's history.
type Revision struct {
	Number   int                      `json:"revision"`
	Commit   string                   `json:"commit"`
	Applied  time.Time                `json:"applied"`
	RS       string                   `json:"replicaSet"`
	Template manifest.PodTemplateSpec `json:"template"`
	Current  bool                     `json:"current"`
}

// History lists a Deployment's revisions, oldest first, from its ReplicaSets.
func History(st *State, k manifest.Key) []Revision {
	a := st.Applied[k]
	var d *manifest.Deployment
	if a != nil {
		d, _ = a.Object.(*manifest.Deployment)
	}
	var out []Revision
	for _, rs := range st.Owned(k) {
		rev := Revision{Number: rs.Revision(), Commit: rs.Commit, Applied: rs.Created, RS: rs.RS.Name, Template: *stripHash(&rs.RS.Spec.Template)}
		rev.Current = d != nil && equalIgnoreHash(&rs.RS.Spec.Template, &d.Spec.Template)
		out = append(out, rev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// RollbackTarget is kubectl's choice of the revision to undo to: toRevision, or with 0
// the second-highest revision.
func RollbackTarget(revisions []int, toRevision int) (int, error) {
	if toRevision < 0 {
		return 0, fmt.Errorf("unable to find specified revision %d in history", toRevision)
	}
	sorted := append([]int{}, revisions...)
	sort.Ints(sorted)
	if toRevision == 0 {
		if len(sorted) < 2 {
			return 0, fmt.Errorf("no rollout history found")
		}
		return sorted[len(sorted)-2], nil
	}
	for _, r := range sorted {
		if r == toRevision {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unable to find specified revision %d in history", toRevision)
}

// Overrides: a rollback or an imperative scale that a sync of the same branch leaves in
// place. They are annotations on the live Deployment (or on every object of an app), so
// they survive the loss of the state directory.
const (
	// OverrideAnnotation is "rollback" or "scale".
	OverrideAnnotation = "kgit.dev/override"
	// OverrideBaseAnnotation is the commit that was live when a rollback was made; the
	// rollback holds until a sync of another commit.
	OverrideBaseAnnotation = "kgit.dev/override-base"
	// OverrideTargetAnnotation is the commit (or revision) rolled back to.
	OverrideTargetAnnotation = "kgit.dev/override-target"
	// OverrideReplicasAnnotation is git's replicas when a scale was made; the scale holds
	// until git changes that value.
	OverrideReplicasAnnotation = "kgit.dev/override-git-replicas"
)

// Override is what an object's annotations say about an override.
type Override struct {
	Kind, Base, Target string
	GitReplicas        int
}

// OverrideOf reads an object's override annotations.
func OverrideOf(ann map[string]string) Override {
	o := Override{Kind: ann[OverrideAnnotation], Base: ann[OverrideBaseAnnotation], Target: ann[OverrideTargetAnnotation]}
	o.GitReplicas, _ = strconv.Atoi(ann[OverrideReplicasAnnotation])
	return o
}

// String says what the override is, for get and sync.
func (o Override) String() string {
	switch o.Kind {
	case "rollback", "app-rollback":
		return fmt.Sprintf("rolled back to %.12s", o.Target)
	case "scale":
		return "scaled by hand"
	}
	return ""
}

func withOverride(ann map[string]string, o Override) map[string]string {
	out := map[string]string{}
	for k, v := range ann {
		if !strings.HasPrefix(k, "kgit.dev/override") {
			out[k] = v
		}
	}
	out[OverrideAnnotation] = o.Kind
	switch o.Kind {
	case "rollback", "app-rollback":
		out[OverrideBaseAnnotation] = o.Base
		out[OverrideTargetAnnotation] = o.Target
	case "scale":
		out[OverrideReplicasAnnotation] = strconv.Itoa(o.GitReplicas)
	}
	return out
}

// keepOverride decides what a sync of commit does with a live object that carries an
// override: it returns the object to apply (the live one for a rollback that holds, git's
// with the live replicas for a scale that holds, or git's when the override ended) and a
// line for the user, or "" when the override ended.
func keepOverride(live *Applied, desired *manifest.Object, commit string, force bool) (any, string) {
	ld, ok := live.Object.(*manifest.Deployment)
	if !ok || force {
		return desired.Obj, ""
	}
	o := OverrideOf(ld.Annotations)
	name := ObjectName(live.Key)
	switch o.Kind {
	case "rollback":
		if o.Base == commit {
			return ld, fmt.Sprintf("%s: kept %s by an override until the branch moves past %.12s (--force drops it)", name, o.String(), o.Base)
		}
	case "scale":
		dd := desired.Obj.(*manifest.Deployment)
		if int(*dd.Spec.Replicas) == o.GitReplicas {
			kept := *dd
			replicas := *ld.Spec.Replicas
			kept.Spec.Replicas = &replicas
			kept.Annotations = withOverride(dd.Annotations, o)
			return &kept, fmt.Sprintf("%s: kept %d replicas scaled by hand until git changes replicas (now %d; --force drops it)", name, replicas, o.GitReplicas)
		}
	}
	return desired.Obj, ""
}

// putDeployment writes a Deployment's record, keeping its creation time and status.
func (r *Reconciler) putDeployment(ctx context.Context, a *Applied, d *manifest.Deployment, commit string) error {
	rec, err := r.record("Deployment", &d.ObjectMeta, d, commit, nil, a.Created)
	if err != nil {
		return err
	}
	rec.Status = a.record.Status
	if err := r.Backend.PutRecord(ctx, rec); err != nil {
		return err
	}
	a.Object, a.Commit, a.record = d, commit, rec
	return nil
}

// Scale sets a Deployment's replicas by hand, as an override that holds until git
// changes that Deployment's replicas.
func (r *Reconciler) Scale(ctx context.Context, st *State, k manifest.Key, replicas int32) error {
	a := st.Applied[k]
	if a == nil {
		return fmt.Errorf("%s not found", ObjectName(k))
	}
	d := *a.Object.(*manifest.Deployment)
	o := OverrideOf(d.Annotations)
	if o.Kind != "scale" {
		o = Override{Kind: "scale", GitReplicas: int(*d.Spec.Replicas)}
	}
	d.Spec.Replicas = &replicas
	d.Annotations = withOverride(d.Annotations, o)
	if err := r.putDeployment(ctx, a, &d, a.Commit); err != nil {
		return err
	}
	r.event(ObjectName(k), "Scaled", "%s scaled to %d", ObjectName(k), replicas)
	return nil
}

// RollbackTo rolls a Deployment to obj (its version at an earlier commit, or its
// template of an earlier revision), as an override that holds until a sync of a commit
// other than base (the branch's commit when the rollback is made); target names what it
// rolled back to, commit is recorded as the commit the object came from. The caller says
// what it did (a DeploymentRollback event).
func (r *Reconciler) RollbackTo(ctx context.Context, st *State, k manifest.Key, obj *manifest.Deployment, base, target, commit string) error {
	a := st.Applied[k]
	if a == nil {
		return fmt.Errorf("%s not found", ObjectName(k))
	}
	if prev := OverrideOf(a.Object.(*manifest.Deployment).Annotations); prev.Kind == "rollback" && prev.Base != "" {
		base = prev.Base // a second rollback still waits for the same branch move
	}
	d := *obj
	d.Annotations = withOverride(obj.Annotations, Override{Kind: "rollback", Base: base, Target: target})
	return r.putDeployment(ctx, a, &d, commit)
}
