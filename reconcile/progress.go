package reconcile

import (
	"fmt"
	"math"
	"time"

	"kgit.dev/kgit/manifest"
)

// Progressing condition reasons, as the Deployment controller writes them.
const (
	ReasonNewRSAvailable   = "NewReplicaSetAvailable"
	ReasonRSUpdated        = "ReplicaSetUpdated"
	ReasonNewRSCreated     = "NewReplicaSetCreated"
	ReasonDeadlineExceeded = "ProgressDeadlineExceeded"
)

// Condition is a Deployment condition.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastUpdateTime     time.Time `json:"lastUpdateTime,omitzero"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
}

// Progress is a Deployment's observed status as kgit keeps it on the Deployment's record
// between syncs: the counts, the Progressing condition, and the last template that was
// fully available (for --auto-rollback).
type Progress struct {
	Replicas, Updated, Ready, Available int
	Progressing                         *Condition `json:"progressing,omitempty"`
	// LastCompleteHash is the pod-template-hash of the last ReplicaSet that completed.
	LastCompleteHash string `json:"lastCompleteHash,omitempty"`
	// CurrentRevision is a StatefulSet's revision before its update, with its template:
	// pods below the partition are made from it.
	CurrentRevision string                    `json:"currentRevision,omitempty"`
	CurrentTemplate *manifest.PodTemplateSpec `json:"currentTemplate,omitempty"`
}

// hasDeadline reports whether progressDeadlineSeconds is set and not "forever".
func hasDeadline(pds *int32) bool { return pds != nil && *pds != math.MaxInt32 }

// DeploymentComplete is util.DeploymentComplete (observedGeneration always current).
func DeploymentComplete(replicas int, st Progress) bool {
	return st.Updated == replicas && st.Replicas == replicas && st.Available == replicas
}

// DeploymentProgressing reports whether the new counts show progress over the old.
func DeploymentProgressing(old, cur Progress) bool {
	return cur.Updated > old.Updated ||
		cur.Replicas-cur.Updated < old.Replicas-old.Updated ||
		cur.Ready > old.Ready ||
		cur.Available > old.Available
}

// DeploymentTimedOut reports whether the deadline passed since the last progress.
func DeploymentTimedOut(pds *int32, cond *Condition, now time.Time) bool {
	if !hasDeadline(pds) || cond == nil || cond.Reason == ReasonNewRSAvailable {
		return false
	}
	if cond.Reason == ReasonDeadlineExceeded {
		return true
	}
	return cond.LastUpdateTime.Add(time.Duration(*pds) * time.Second).Before(now)
}

// setCondition is SetDeploymentCondition: nothing changes for the same status and
// reason; the transition time is kept while the status stays the same.
func setCondition(cur *Condition, next Condition) *Condition {
	if cur != nil && cur.Status == next.Status && cur.Reason == next.Reason {
		return cur
	}
	if cur != nil && cur.Status == next.Status {
		next.LastTransitionTime = cur.LastTransitionTime
	}
	return &next
}

// SyncRolloutStatus computes the Progressing condition of a Deployment from its last
// status (old) and the counts just observed (cur), as syncRolloutStatus does.
func SyncRolloutStatus(d *manifest.Deployment, old, cur Progress, newRS string, now time.Time) *Condition {
	pds := d.Spec.ProgressDeadlineSeconds
	if !hasDeadline(pds) {
		return nil
	}
	cond := old.Progressing
	if cur.Replicas == cur.Updated && cond != nil && cond.Reason == ReasonNewRSAvailable {
		return cond
	}
	subject := fmt.Sprintf("ReplicaSet %q", newRS)
	if newRS == "" {
		subject = fmt.Sprintf("Deployment %q", d.Name)
	}
	fresh := func(status, reason, msg string) Condition {
		return Condition{Type: "Progressing", Status: status, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
	}
	switch {
	case DeploymentComplete(int(*d.Spec.Replicas), cur):
		return setCondition(cond, fresh("True", ReasonNewRSAvailable, subject+" has successfully progressed."))
	case DeploymentProgressing(old, cur):
		next := fresh("True", ReasonRSUpdated, subject+" is progressing.")
		if cond != nil && cond.Status == "True" {
			next.LastTransitionTime = cond.LastTransitionTime
		}
		return &next
	case DeploymentTimedOut(pds, cond, now):
		return setCondition(cond, fresh("False", ReasonDeadlineExceeded, subject+" has timed out progressing."))
	}
	return cond
}

// RolloutStatus is kubectl rollout status's message for a Deployment: done reports a
// finished rollout; failed a progress deadline exceeded.
func RolloutStatus(name string, replicas int, st Progress) (msg string, done, failed bool) {
	switch {
	case st.Progressing != nil && st.Progressing.Reason == ReasonDeadlineExceeded:
		return fmt.Sprintf("deployment %q exceeded its progress deadline", name), false, true
	case st.Updated < replicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", name, st.Updated, replicas), false, false
	case st.Replicas > st.Updated:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", name, st.Replicas-st.Updated), false, false
	case st.Available < st.Updated:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", name, st.Available, st.Updated), false, false
	}
	return fmt.Sprintf("deployment %q successfully rolled out\n", name), true, false
}
