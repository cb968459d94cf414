package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

// Revision is one entry of a Deployment's history.
type Revision struct {
	Number   int                      `json:"revision"`
	Commit   string                   `json:"commit"`
	Applied  time.Time                `json:"applied"`
	RS       string                   `json:"replicaSet"`
	Template manifest.PodTemplateSpec `json:"template"`
	Current  bool                     `json:"current"`
	// LastComplete marks the last revision that was fully available (for
	// --auto-rollback).
	LastComplete bool `json:"-"`
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
	// OverrideGitAnnotation is a digest of git's version of the Deployment when a restart
	// was made; the restart holds until git changes that Deployment.
	OverrideGitAnnotation = "kgit.dev/override-git"
	// RestartedAtAnnotation is the pod template annotation kubectl rollout restart sets.
	RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"
)

// Override is what an object's annotations say about an override.
type Override struct {
	Kind, Base, Target string
	GitReplicas        int
	Git                string // a restart's digest of git's Deployment
}

// OverrideOf reads an object's override annotations.
func OverrideOf(ann map[string]string) Override {
	o := Override{Kind: ann[OverrideAnnotation], Base: ann[OverrideBaseAnnotation], Target: ann[OverrideTargetAnnotation]}
	o.GitReplicas, _ = strconv.Atoi(ann[OverrideReplicasAnnotation])
	o.Git = ann[OverrideGitAnnotation]
	return o
}

// String says what the override is, for get and sync.
func (o Override) String() string {
	switch o.Kind {
	case "rollback", "app-rollback":
		return fmt.Sprintf("rolled back to %.12s", o.Target)
	case "scale":
		return "scaled by hand"
	case "restart":
		return "restarted by hand"
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
	case "restart":
		out[OverrideGitAnnotation] = o.Git
	}
	return out
}

// gitDigest is a digest of a Deployment as git has it: without kgit's override
// annotations and the restart annotation, which only kgit adds.
func gitDigest(d *manifest.Deployment) string {
	c := *d
	c.Annotations = map[string]string{}
	for k, v := range d.Annotations {
		if !strings.HasPrefix(k, "kgit.dev/override") {
			c.Annotations[k] = v
		}
	}
	c.Spec.Template.Annotations = map[string]string{}
	for k, v := range d.Spec.Template.Annotations {
		if k != RestartedAtAnnotation {
			c.Spec.Template.Annotations[k] = v
		}
	}
	data, _ := json.Marshal(&c)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
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
	case "restart":
		dd := desired.Obj.(*manifest.Deployment)
		if gitDigest(dd) == o.Git {
			kept := *dd
			kept.Annotations = withOverride(dd.Annotations, o)
			kept.Spec.Template.Annotations = withKey(dd.Spec.Template.Annotations, RestartedAtAnnotation, ld.Spec.Template.Annotations[RestartedAtAnnotation])
			return &kept, fmt.Sprintf("%s: kept restarted at %s until git changes it (--force drops it)", name, ld.Spec.Template.Annotations[RestartedAtAnnotation])
		}
	}
	return desired.Obj, ""
}

// withKey is m with k set to v (a copy).
func withKey(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}
