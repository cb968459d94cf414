package controller

import (
	"fmt"
	"math"
	"time"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// hasDeadline reports whether progressDeadlineSeconds is set and not "forever".
func hasDeadline(pds *int32) bool { return pds != nil && *pds != math.MaxInt32 }

// DeploymentComplete is util.DeploymentComplete (observedGeneration always current).
func DeploymentComplete(replicas int, st reconcile.Progress) bool {
	return st.Updated == replicas && st.Replicas == replicas && st.Available == replicas
}

// DeploymentProgressing reports whether the new counts show progress over the old.
func DeploymentProgressing(old, cur reconcile.Progress) bool {
	return cur.Updated > old.Updated ||
		cur.Replicas-cur.Updated < old.Replicas-old.Updated ||
		cur.Ready > old.Ready ||
		cur.Available > old.Available
}

// DeploymentTimedOut reports whether the deadline passed since the last progress.
func DeploymentTimedOut(pds *int32, cond *reconcile.Condition, now time.Time) bool {
	if !hasDeadline(pds) || cond == nil || cond.Reason == reconcile.ReasonNewRSAvailable {
		return false
	}
	if cond.Reason == reconcile.ReasonDeadlineExceeded {
		return true
	}
	return cond.LastUpdateTime.Add(time.Duration(*pds) * time.Second).Before(now)
}

// setCondition is SetDeploymentCondition: nothing changes for the same status and
// reason; the transition time is kept while the status stays the same.
func setCondition(cur *reconcile.Condition, next reconcile.Condition) *reconcile.Condition {
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
func SyncRolloutStatus(d *manifest.Deployment, old, cur reconcile.Progress, newRS string, now time.Time) *reconcile.Condition {
	pds := d.Spec.ProgressDeadlineSeconds
	if !hasDeadline(pds) {
		return nil
	}
	cond := old.Progressing
	if cur.Replicas == cur.Updated && cond != nil && cond.Reason == reconcile.ReasonNewRSAvailable {
		return cond
	}
	subject := fmt.Sprintf("ReplicaSet %q", newRS)
	if newRS == "" {
		subject = fmt.Sprintf("Deployment %q", d.Name)
	}
	fresh := func(status, reason, msg string) reconcile.Condition {
		return reconcile.Condition{Type: "Progressing", Status: status, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
	}
	switch {
	case DeploymentComplete(int(*d.Spec.Replicas), cur):
		return setCondition(cond, fresh("True", reconcile.ReasonNewRSAvailable, subject+" has successfully progressed."))
	case DeploymentProgressing(old, cur):
		next := fresh("True", reconcile.ReasonRSUpdated, subject+" is progressing.")
		if cond != nil && cond.Status == "True" {
			next.LastTransitionTime = cond.LastTransitionTime
		}
		return &next
	case DeploymentTimedOut(pds, cond, now):
		return setCondition(cond, fresh("False", reconcile.ReasonDeadlineExceeded, subject+" has timed out progressing."))
	}
	return cond
}
