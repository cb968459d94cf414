package controller

import (
	"math"
	"sort"
	"strconv"
	"time"

	"kgit.dev/kgit/backend"
)

// DeletionCostAnnotation lowers or raises a pod's place in the scale-down order.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// rankedPod is a pod with what the ReplicaSet controller sorts it by.
type rankedPod struct {
	Pod  *backend.Pod
	Rank int // active pods of the same owner on the pod's node
	// Unassigned is a pod not yet placed on a node; on one machine only pending pods
	// that have not started.
	Unassigned bool
}

// Gates are the feature gates that shape the deletion order; both are on by default in
// Kubernetes 1.28, and kgit always turns them on.
type Gates struct{ DeletionCost, LogarithmicScaleDown bool }

// SortForDeletion orders pods so that the first ones are the ones the ReplicaSet
// controller deletes first (controller.ActivePodsWithRanks).
func SortForDeletion(pods []rankedPod, now time.Time, g Gates) {
	sort.SliceStable(pods, func(i, j int) bool { return deleteFirst(pods[i], pods[j], now, g) })
}

var phaseOrder = map[string]int{backend.PodPending: 0, backend.PodUnknown: 1, backend.PodRunning: 2}

// deleteFirst reports whether a should be deleted before b.
func deleteFirst(a, b rankedPod, now time.Time, g Gates) bool {
	logarithmic := g.LogarithmicScaleDown
	pa, pb := a.Pod, b.Pod
	if a.Unassigned != b.Unassigned {
		return a.Unassigned
	}
	if oa, ob := phaseOrder[pa.Status.Phase], phaseOrder[pb.Status.Phase]; oa != ob {
		return oa < ob
	}
	if pa.Status.Ready != pb.Status.Ready {
		return !pa.Status.Ready
	}
	if ca, cb := deletionCost(pa), deletionCost(pb); g.DeletionCost && ca != cb {
		return ca < cb
	}
	if a.Rank != b.Rank {
		return a.Rank > b.Rank
	}
	if pa.Status.Ready && pb.Status.Ready {
		ta, tb := pa.Status.ReadySince, pb.Status.ReadySince
		if !ta.Equal(tb) {
			if !logarithmic {
				return afterOrZero(ta, tb)
			}
			if ba, bb := logBucket(now, ta), logBucket(now, tb); ba != bb {
				return ba < bb
			}
			if pa.UID != pb.UID {
				return pa.UID < pb.UID
			}
		}
	}
	if ra, rb := pa.Status.Restarts(), pb.Status.Restarts(); ra != rb {
		return ra > rb
	}
	ca, cb := pa.Created, pb.Created
	if !ca.Equal(cb) {
		if !logarithmic {
			return afterOrZero(ca, cb)
		}
		if ba, bb := logBucket(now, ca), logBucket(now, cb); ba != bb {
			return ba < bb
		}
	}
	return false
}

// afterOrZero: a zero time sorts first, then the more recent.
func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

// logBucket is floor(log2(now - t in ns)); a zero time is bucket -1 (first).
func logBucket(now, t time.Time) int {
	if t.IsZero() {
		return -1
	}
	d := now.Sub(t).Nanoseconds()
	if d <= 0 {
		return 0
	}
	return int(math.Floor(math.Log2(float64(d))))
}

func deletionCost(p *backend.Pod) int32 {
	s, ok := p.Annotations[DeletionCostAnnotation]
	if !ok || s == "" || s[0] == '+' || (len(s) > 1 && s[0] == '0') {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}
