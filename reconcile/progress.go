package reconcile

import (
	"fmt"
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
