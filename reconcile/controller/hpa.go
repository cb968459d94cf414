package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// The autoscaler controller runs where kgit's other controllers run: in each pass of a
// sync (and of sync --watch), not in the background. An autoscaler is evaluated at most
// once per hpaPeriod (the horizontal-pod-autoscaler-sync-period) by one kgit process,
// and at the first pass of every sync; between syncs its target keeps the replicas last
// decided, which its record holds.
const (
	hpaPeriod = 15 * time.Second
	// hpaTolerance is the ratio of usage to target within which nothing is scaled.
	hpaTolerance = 0.1
	// hpaDownWindow is the default scale-down stabilization window: the target is scaled
	// down only to the highest recommendation of that long.
	hpaDownWindow = 5 * time.Minute
)

// HPAStatus is what the autoscaler controller records on an autoscaler's record.
type HPAStatus struct {
	DesiredReplicas int32 `json:"desiredReplicas,omitempty"`
	// CurrentCPU is the pods' CPU use as a percentage of their requests, when measured.
	CurrentCPU    *int32    `json:"currentCPUUtilizationPercentage,omitempty"`
	LastScaleTime time.Time `json:"lastScaleTime,omitzero"`
	// Recommendations are the replicas recommended within the scale-down window.
	Recommendations []Recommendation `json:"recommendations,omitempty"`
}

// Recommendation is one evaluation's recommended replicas.
type Recommendation struct {
	At       time.Time `json:"at"`
	Replicas int32     `json:"replicas"`
}

// hpaRecordStatus is an autoscaler's record status.
type hpaRecordStatus struct {
	HPA HPAStatus `json:"hpa"`
}

// HPAStatusOf returns an autoscaler's status as last recorded.
func (o *Object) HPAStatusOf() HPAStatus {
	var s hpaRecordStatus
	_ = json.Unmarshal(o.record.Status, &s) // none yet: the autoscaler was never evaluated
	return s.HPA
}

// Autoscaled returns the replicas an autoscaler gives the object k (a Deployment or
// StatefulSet) in place of git's, and whether one targets it: the replicas it last
// decided, else minReplicas, always within minReplicas and maxReplicas.
func (s *State) Autoscaled(k manifest.Key) (int32, bool) {
	if s.autoscaled == nil { // indexed once per state: a sync asks for every workload
		s.autoscaled = map[manifest.Key]int32{}
		for _, a := range s.Objects {
			if h, ok := a.Object.(*manifest.HorizontalPodAutoscaler); ok {
				n := a.HPAStatusOf().DesiredReplicas
				s.autoscaled[hpaTarget(h)] = min(max(n, *h.Spec.MinReplicas, 1), h.Spec.MaxReplicas)
			}
		}
	}
	n, ok := s.autoscaled[k]
	return n, ok
}

func hpaTarget(h *manifest.HorizontalPodAutoscaler) manifest.Key {
	return manifest.Key{Kind: h.Spec.ScaleTargetRef.Kind, Namespace: h.Namespace, Name: h.Spec.ScaleTargetRef.Name}
}

// autoscaled returns the object with the replicas its autoscaler gives it, if any: a
// copy, the record keeps git's.
func autoscaled[T any](st *State, k manifest.Key, obj *T, replicas func(*T) **int32) *T {
	n, ok := st.Autoscaled(k)
	if !ok {
		return obj
	}
	c := *obj
	*replicas(&c) = &n
	return &c
}

// syncAutoscalers evaluates the autoscalers that are due: each scales its target on its
// pods' CPU use against their CPU requests, by Kubernetes' formula (desired = ceil(pods
// * utilization / target), nothing within a 10% tolerance, scale-up by at most
// max(100%, 4 pods), scale-down stabilized over 5 minutes). Without a measure (a backend
// that measures nothing, a container without requests.cpu) it holds minReplicas and
// says why in an event.
func (r *Local) syncAutoscalers(ctx context.Context, st *State) error {
	var hpas []*Object
	for _, a := range st.Objects {
		if _, ok := a.Object.(*manifest.HorizontalPodAutoscaler); ok {
			hpas = append(hpas, a)
		}
	}
	sort.Slice(hpas, func(i, j int) bool { return hpas[i].Key.Name < hpas[j].Key.Name })
	now := time.Now()
	for _, a := range hpas {
		r.mu.Lock()
		if r.hpaAt == nil {
			r.hpaAt = map[manifest.Key]time.Time{}
		}
		due := now.Sub(r.hpaAt[a.Key]) >= hpaPeriod
		if due {
			r.hpaAt[a.Key] = now
		}
		r.mu.Unlock()
		if due {
			if err := r.evaluate(ctx, st, a, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// evaluate is one evaluation of one autoscaler.
func (r *Local) evaluate(ctx context.Context, st *State, a *Object, now time.Time) error {
	h := a.Object.(*manifest.HorizontalPodAutoscaler)
	name := reconcile.ObjectName(a.Key)
	cur, _ := st.Autoscaled(hpaTarget(h))
	status := a.HPAStatusOf()
	status.CurrentCPU = nil
	desired, why := r.recommend(ctx, st, h, cur, &status, now)
	if why != "" {
		r.eventOnce(name+"/"+why, name, "FailedGetResourceMetric", why+": holding minReplicas")
		desired = *h.Spec.MinReplicas
	}
	desired = min(max(desired, *h.Spec.MinReplicas), h.Spec.MaxReplicas)
	if desired != cur {
		reason := "All metrics below target"
		switch {
		case why != "":
			reason = why
		case desired > cur:
			reason = "cpu resource utilization (percentage of request) above target"
		}
		r.event(name, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
		status.LastScaleTime = now.UTC()
	}
	status.DesiredReplicas = desired
	data, err := json.Marshal(hpaRecordStatus{HPA: status})
	if err != nil || string(data) == string(a.record.Status) {
		return err
	}
	a.record.Status = data
	st.autoscaled = nil // Autoscaled reads the new decision
	return r.Backend.PutRecord(ctx, a.record)
}

// recommend is the replicas the autoscaler's metric recommends for a target at cur
// replicas; why, when not "", is why it could not be measured.
func (r *Local) recommend(ctx context.Context, st *State, h *manifest.HorizontalPodAutoscaler, cur int32, status *HPAStatus, now time.Time) (int32, string) {
	target, ok, _ := h.CPUTarget()
	if !ok {
		return cur, "" // no CPU target: the floor holds (the manifest's warning says so)
	}
	meter, ok := backend.MeterOf(r.Backend)
	if !ok {
		return cur, fmt.Sprintf("the %s backend measures no metrics", r.Backend.Name())
	}
	var pods []*backend.Pod
	requests := map[string]int64{}
	for _, p := range targetPods(st, hpaTarget(h)) {
		if !p.Status.Active() || p.Status.Phase != backend.PodRunning {
			continue
		}
		for _, c := range p.Spec.Containers {
			req := manifest.ContainerResources(&c).RequestCPU
			if req == 0 {
				return cur, fmt.Sprintf("failed to get cpu utilization: missing request for cpu in container %s of Pod %s", c.Name, p.Name)
			}
			requests[p.ID] += req
		}
		pods = append(pods, p)
	}
	if len(pods) == 0 {
		return cur, ""
	}
	usage, err := meter.Measure(ctx, pods)
	if err != nil {
		return cur, fmt.Sprintf("failed to get cpu utilization: %v", err)
	}
	var used, requested int64
	measured := 0
	for _, p := range pods {
		if cs, ok := usage[p.ID]; ok && len(cs) > 0 {
			for _, u := range cs {
				used += u.CPUMilli
			}
			requested, measured = requested+requests[p.ID], measured+1
		}
	}
	if measured == 0 {
		return cur, ""
	}
	util := int32(used * 100 / requested)
	status.CurrentCPU = &util
	ratio := float64(util) / float64(target)
	rec := cur
	if math.Abs(ratio-1) > hpaTolerance {
		rec = int32(math.Ceil(ratio * float64(measured)))
	}
	// Scale-up policy (Kubernetes' default): at most double, or four pods more.
	rec = min(rec, max(2*cur, cur+4))
	// Scale-down stabilization: never below the highest recommendation of the window.
	window := []Recommendation{{At: now.UTC(), Replicas: rec}}
	down := rec
	for _, old := range status.Recommendations {
		if now.Sub(old.At) < hpaDownWindow {
			window = append(window, old)
			down = max(down, old.Replicas)
		}
	}
	status.Recommendations = window
	desired := cur
	if desired < rec {
		desired = rec
	}
	if desired > down {
		desired = down
	}
	return desired, ""
}

// targetPods are the pods of an autoscaler's target: a Deployment's ReplicaSets' or a
// StatefulSet's own.
func targetPods(st *State, k manifest.Key) []*backend.Pod {
	if k.Kind != "Deployment" {
		return st.PodsOf(k)
	}
	var pods []*backend.Pod
	for _, rs := range st.Owned(k) {
		pods = append(pods, rs.Pods...)
	}
	return pods
}
