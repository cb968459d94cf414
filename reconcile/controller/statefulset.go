package controller

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// Labels Kubernetes puts on a StatefulSet's pods.
const (
	StatefulPodNameLabel = "statefulset.kubernetes.io/pod-name"
	PodIndexLabel        = "apps.kubernetes.io/pod-index"
	RevisionHashLabel    = "controller-revision-hash"
	statefulSetOwnerKind = "StatefulSet"
)

// statefulPods are a StatefulSet's pods: by ordinal below replicas, and the condemned
// ones at or above it, highest first.
type statefulPods struct {
	byOrdinal map[int]*backend.Pod
	condemned []*backend.Pod
}

func (r *Local) statefulPods(st *State, a *Object, ss *manifest.StatefulSet) statefulPods {
	sp := statefulPods{byOrdinal: map[int]*backend.Pod{}}
	ordinals := map[*backend.Pod]int{}
	for _, p := range st.PodsOf(a.Key) {
		ord, err := strconv.Atoi(p.Labels[PodIndexLabel])
		if err != nil || p.Name != statefulPodName(ss, ord) {
			continue
		}
		if ord >= int(*ss.Spec.Replicas) {
			sp.condemned = append(sp.condemned, p)
			ordinals[p] = ord
		} else {
			sp.byOrdinal[ord] = p
		}
	}
	sort.Slice(sp.condemned, func(i, j int) bool { return ordinals[sp.condemned[i]] > ordinals[sp.condemned[j]] })
	return sp
}

// syncStatefulSet is the StatefulSet controller (OrderedReady or Parallel; RollingUpdate
// with a partition, or OnDelete): pods NAME-0..NAME-(n-1) are created in order, each
// after its predecessor is ready, condemned pods go highest ordinal first, and an update
// replaces one pod at a time from the highest ordinal down to the partition. It reports
// whether the StatefulSet has converged.
func (r *Local) syncStatefulSet(ctx context.Context, st *State, a *Object, ss *manifest.StatefulSet) (bool, error) {
	spec := &ss.Spec
	now := r.now()
	prog := a.Progress
	updateRev := st.templateID(&spec.Template)
	if prog.CurrentRevision == "" || prog.CurrentTemplate == nil {
		prog.CurrentRevision, prog.CurrentTemplate = updateRev, &spec.Template
	}
	ordered := spec.PodManagementPolicy == manifest.OrderedReady
	partition := 0
	if ru := spec.UpdateStrategy.RollingUpdate; spec.UpdateStrategy.Type != manifest.OnDelete && ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	healthy := func(p *backend.Pod) bool {
		return p.Status.Phase == backend.PodRunning && p.Status.Ready && !p.Status.Terminating &&
			!p.Status.ReadySince.Add(time.Duration(spec.MinReadySeconds)*time.Second).After(now)
	}
	pods := r.statefulPods(st, a, ss)
	replicas := int(*spec.Replicas)
	done := true
	progress := func() (bool, error) { return false, r.saveProgress(ctx, a, prog) }

	for ord := 0; ord < replicas; ord++ {
		p := pods.byOrdinal[ord]
		switch {
		case p == nil:
			if !r.nameDeleting(ss.Namespace, statefulPodName(ss, ord)) {
				tmpl, rev := &spec.Template, updateRev
				if spec.UpdateStrategy.Type != manifest.OnDelete && ord < partition {
					tmpl, rev = prog.CurrentTemplate, prog.CurrentRevision
				}
				if err := r.createStatefulPod(ctx, st, a, ss, ord, tmpl, rev); err != nil {
					return false, err
				}
			}
			done = false
		case r.isDeleting(p.ID) || p.Status.Terminating:
			done = false
		case p.Status.Phase == backend.PodFailed || p.Status.Phase == backend.PodSucceeded:
			r.deletePodBy(ctx, p, reconcile.ObjectName(a.Key), "RecreatingFailedPod", "StatefulSet %s/%s is recreating failed Pod %s", ss.Namespace, ss.Name, p.Name)
			done = false
		case !healthy(p):
			done = false
		}
		if !done && ordered {
			return progress()
		}
	}
	for _, p := range pods.condemned {
		if !r.isDeleting(p.ID) && !p.Status.Terminating {
			r.deletePodBy(ctx, p, reconcile.ObjectName(a.Key), "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful", p.Name, ss.Name)
		}
		done = false
		if ordered {
			return progress()
		}
	}
	if !done {
		return progress()
	}
	// Every pod exists and is healthy: once all run the update revision, it is current.
	updated := 0
	for _, p := range pods.byOrdinal {
		if p.Labels[backend.LabelHash] == updateRev {
			updated++
		}
	}
	if updated == replicas {
		prog.CurrentRevision, prog.CurrentTemplate = updateRev, &spec.Template
	}
	prog.Replicas, prog.Updated, prog.Ready, prog.Available = replicas, updated, replicas, replicas
	if spec.UpdateStrategy.Type != manifest.OnDelete {
		for ord := replicas - 1; ord >= partition; ord-- {
			if p := pods.byOrdinal[ord]; p.Labels[backend.LabelHash] != updateRev {
				r.deletePodBy(ctx, p, reconcile.ObjectName(a.Key), "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful (update to revision %s)", p.Name, ss.Name, updateRev)
				return progress()
			}
		}
	}
	if err := r.saveProgress(ctx, a, prog); err != nil {
		return false, err
	}
	return true, nil
}

func statefulPodName(ss *manifest.StatefulSet, ord int) string {
	return fmt.Sprintf("%s-%d", ss.Name, ord)
}

// createStatefulPod creates the pod of an ordinal from a template of revision rev: its
// stable name and hostname, and a persistent volume per claim template.
func (r *Local) createStatefulPod(ctx context.Context, st *State, a *Object, ss *manifest.StatefulSet, ord int, t *manifest.PodTemplateSpec, rev string) error {
	name := statefulPodName(ss, ord)
	spec := t.Spec
	spec.Volumes = append([]manifest.Volume(nil), spec.Volumes...)
	for _, c := range ss.Spec.VolumeClaimTemplates {
		spec.Volumes = append(spec.Volumes, manifest.Volume{Name: c.Name,
			PersistentVolumeClaim: &manifest.ClaimVolumeSource{ClaimName: manifest.ClaimName(c.Name, ss.Name, ord)}})
	}
	spec.Hostname, spec.Subdomain = name, ss.Spec.ServiceName
	values, err := st.resolve(ss.Namespace, &spec)
	if err != nil {
		return fmt.Errorf("%s: %w", reconcile.ObjectName(a.Key), err)
	}
	labels := r.podLabels(t.Labels, ss.Namespace, statefulSetOwnerKind, ss.Name, rev, "", a.Commit)
	labels[StatefulPodNameLabel], labels[PodIndexLabel], labels[RevisionHashLabel] = name, strconv.Itoa(ord), ss.Name+"-"+rev
	pod := backend.PodSpec{Name: name, Namespace: ss.Namespace, Labels: labels, Annotations: t.Annotations, Spec: spec}.WithValues(values)
	return r.createPod(ctx, reconcile.ObjectName(a.Key), pod)
}
