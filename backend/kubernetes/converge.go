package kubernetes

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

var (
	podGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	rsGVR  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
)

// Converge implements reconcile.Target: it waits until every member of the app is
// Current as kstatus computes it (Deployments, StatefulSets, DaemonSets, Jobs, Pods,
// CRDs, ... with observedGeneration), reporting each Deployment's progress. A
// Deployment whose Progressing condition says ProgressDeadlineExceeded is a
// *reconcile.RolloutError naming its pods that are not ready and why; ctx ending first
// is an error wrapping reconcile.ErrTimeout naming what was not ready; a failed Job is
// a *reconcile.JobError. The result is recorded in the app's parent Secret when this
// process changed anything or the rollout failed.
func (t *Target) Converge(ctx context.Context, live reconcile.Live) error {
	var l *Live
	if live != nil {
		l = live.(*Live)
	}
	poll := t.Poll
	if poll == 0 {
		poll = 250 * time.Millisecond
	}
	var last *Live       // the last app read, recorded if ctx ends while reading again
	var pending []string // what was not ready at the last read
	failures := 0
	for {
		if l == nil {
			var err error
			if l, err = t.load(ctx); err != nil {
				// A read that fails as ctx runs out (client-go's rate limiter refuses a wait
				// that would pass the deadline before ctx ends) is the timeout; other errors
				// are retried a few times, as a busy apiserver can refuse one.
				if failures++; failures > 3 {
					return t.finish(last, err)
				}
				select {
				case <-ctx.Done():
					if len(pending) == 0 {
						pending = []string{err.Error()}
					}
					return t.finish(last, fmt.Errorf("%w: %s", reconcile.ErrTimeout, strings.Join(pending, "; ")))
				case <-time.After(poll):
				}
				l = nil
				continue
			}
			failures = 0
		}
		last = l
		var failed []string
		var keys []manifest.Key
		var jobs *reconcile.JobError
		pending, failed, keys, jobs = t.health(ctx, l)
		if len(jobs.Jobs) > 0 && len(failed) == 0 {
			return t.finish(l, jobs)
		}
		if len(failed) > 0 {
			for i, k := range keys {
				t.Emit(reconcile.ObjectName(k), "ProgressDeadlineExceeded", "%s", failed[i])
			}
			return t.finish(l, &reconcile.RolloutError{Deployments: keys, Failures: failed})
		}
		if len(pending) == 0 {
			return t.finish(l, nil)
		}
		select {
		case <-ctx.Done():
			return t.finish(l, fmt.Errorf("%w: %s", reconcile.ErrTimeout, strings.Join(pending, "; ")))
		case <-time.After(poll):
		}
		l = nil
	}
}

// health computes each object's kstatus status: what is still pending, and the
// Deployments whose rollout failed.
func (t *Target) health(ctx context.Context, l *Live) (pending, failed []string, failedKeys []manifest.Key, jobs *reconcile.JobError) {
	jobs = &reconcile.JobError{}
	for _, u := range l.Objects() {
		k := keyOf(u)
		if u.GetKind() == "Job" && u.GroupVersionKind().Group == "batch" {
			// kstatus calls a started Job Current; kgit waits for it to finish, as the
			// local targets do.
			switch done, why := jobFinished(u); {
			case done && why != "":
				jobs.Jobs = append(jobs.Jobs, k)
				msg := fmt.Sprintf("job %q failed: %s", u.GetName(), why)
				if pods, err := t.podsOf(ctx, u); err == nil {
					for _, p := range pods {
						if w := notReady(p); w != "" {
							msg += "; " + w
						}
					}
				}
				jobs.Failures = append(jobs.Failures, msg)
			case !done:
				pending = append(pending, fmt.Sprintf("%s: %s", reconcile.ObjectName(k), why))
			}
			continue
		}
		res, err := status.Compute(u)
		if err != nil {
			pending = append(pending, fmt.Sprintf("%s: %v", reconcile.ObjectName(k), err))
			continue
		}
		if u.GetKind() == "Deployment" {
			t.progress(k, u)
		}
		switch res.Status {
		case status.CurrentStatus:
		case status.FailedStatus:
			if u.GetKind() == "Deployment" {
				failed = append(failed, t.failure(ctx, u))
				failedKeys = append(failedKeys, k)
				continue
			}
			pending = append(pending, fmt.Sprintf("%s: %s", reconcile.ObjectName(k), res.Message))
		default:
			pending = append(pending, fmt.Sprintf("%s: %s", reconcile.ObjectName(k), res.Message))
		}
	}
	return pending, failed, failedKeys, jobs
}

// progressOf reads a Deployment's status as kgit's progress vocabulary has it.
func progressOf(u *unstructured.Unstructured) (int, reconcile.Progress) {
	desired, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		desired = 1
	}
	n := func(f string) int {
		v, _, _ := unstructured.NestedInt64(u.Object, "status", f)
		return int(v)
	}
	p := reconcile.Progress{Replicas: n("replicas"), Updated: n("updatedReplicas"), Ready: n("readyReplicas"), Available: n("availableReplicas")}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] != "Progressing" {
			continue
		}
		str := func(f string) string { s, _ := cm[f].(string); return s }
		cond := &reconcile.Condition{Type: "Progressing", Status: str("status"), Reason: str("reason"), Message: str("message")}
		cond.LastUpdateTime, _ = time.Parse(time.RFC3339, str("lastUpdateTime"))
		cond.LastTransitionTime, _ = time.Parse(time.RFC3339, str("lastTransitionTime"))
		p.Progressing = cond
	}
	return int(desired), p
}

// progress tells the progress sink a Deployment's status when it changed.
func (t *Target) progress(k manifest.Key, u *unstructured.Unstructured) {
	if t.Progress == nil {
		return
	}
	desired, p := progressOf(u)
	t.mu.Lock()
	prev, seen := t.reported[k]
	same := seen && prev.Replicas == p.Replicas && prev.Updated == p.Updated && prev.Ready == p.Ready && prev.Available == p.Available &&
		(prev.Progressing == nil) == (p.Progressing == nil) && (p.Progressing == nil || prev.Progressing.Reason == p.Progressing.Reason)
	t.reported[k] = p
	t.mu.Unlock()
	if !same {
		t.Progress.Progress(reconcile.ObjectName(k), desired, p)
	}
}

// failure describes a Deployment whose progress deadline passed: the deadline, the
// updated pods available, and each pod that is not ready with the reason.
func (t *Target) failure(ctx context.Context, u *unstructured.Unstructured) string {
	desired, p := progressOf(u)
	deadline, _, _ := unstructured.NestedInt64(u.Object, "spec", "progressDeadlineSeconds")
	msg := fmt.Sprintf("deployment %q exceeded its progress deadline (%ds): %d of %d pods updated, %d available", u.GetName(), deadline, p.Updated, desired, p.Available)
	pods, err := t.podsOf(ctx, u)
	if err != nil {
		return msg + fmt.Sprintf(" (pods: %v)", err)
	}
	var why []string
	for _, pod := range pods {
		if w := notReady(pod); w != "" {
			why = append(why, w)
		}
	}
	sort.Strings(why)
	if len(why) > 0 {
		msg += "; not ready: " + strings.Join(why, ", ")
	}
	return msg
}

// podsOf lists the pods a workload's selector selects.
func (t *Target) podsOf(ctx context.Context, u *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	raw, _, _ := unstructured.NestedMap(u.Object, "spec", "selector")
	var sel metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &sel); err != nil {
		return nil, err
	}
	s, err := metav1.LabelSelectorAsSelector(&sel)
	if err != nil {
		return nil, err
	}
	list, err := t.dyn.Resource(podGVR).Namespace(u.GetNamespace()).List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return nil, t.wrap(err)
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// notReady says why a pod is not ready ("" when it is): a container's waiting or
// terminated reason, or the failing pod condition.
func notReady(pod *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(pod.Object, "status", "conditions")
	var reasons []string
	ready := false
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == "Ready" && cm["status"] == "True" {
			ready = true
		}
		if cm["status"] == "False" {
			r := fmt.Sprint(cm["type"], "=False")
			if reason, _ := cm["reason"].(string); reason != "" {
				r += " " + reason
			}
			if m, _ := cm["message"].(string); m != "" {
				r += ": " + m
			}
			reasons = append(reasons, strings.TrimSpace(r))
		}
	}
	if ready && pod.GetDeletionTimestamp() == nil {
		return ""
	}
	cs, _, _ := unstructured.NestedSlice(pod.Object, "status", "containerStatuses")
	for _, c := range cs {
		cm, _ := c.(map[string]any)
		for _, state := range []string{"waiting", "terminated"} {
			if st, _, _ := unstructured.NestedMap(cm, "state", state); st != nil {
				r := fmt.Sprintf("container %v %v", cm["name"], st["reason"])
				if code, ok := st["exitCode"]; ok {
					r += fmt.Sprintf(" (exit code %v)", code)
				}
				if m, _ := st["message"].(string); m != "" {
					r += ": " + m
				}
				reasons = append(reasons, r)
			}
		}
	}
	if len(reasons) == 0 {
		phase, _, _ := unstructured.NestedString(pod.Object, "status", "phase")
		reasons = append(reasons, "phase "+phase)
	}
	return fmt.Sprintf("pod/%s (%s)", pod.GetName(), strings.Join(reasons, "; "))
}

// finish records the sync in the app's parent Secret (when this process changed
// something, or the sync failed) and returns its result.
func (t *Target) finish(l *Live, result error) error {
	t.mu.Lock()
	changed, commit := t.changed, t.commit
	t.changed = false
	t.mu.Unlock()
	if l == nil || t.App == "" || (!changed && result == nil) {
		return result
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inv := l.inv
	inv.groupKinds, inv.namespaces = nil, []string{t.Namespace}
	for _, u := range l.objs {
		ns := u.GetNamespace()
		inv.add(gkString(u.GroupVersionKind().GroupKind()), ns)
	}
	if inv.complete == nil {
		inv.complete = map[string]string{}
	}
	for k, u := range l.objs {
		if k.Kind != "Deployment" {
			continue
		}
		if res, err := status.Compute(u); err == nil && res.Status == status.CurrentStatus {
			if rs := t.currentRS(ctx, l, u); rs != nil {
				inv.complete[k.Namespace+"/"+k.Name] = rs.GetLabels()[labelTemplateHash]
			}
		}
	}
	rec := SyncRecord{Commit: commit, Time: t.Time().UTC(), Result: "ok", By: identity()}
	if result != nil {
		rec.Result = result.Error()
	}
	inv.syncs = append(inv.syncs, rec)
	if len(inv.syncs) > maxSyncs {
		inv.syncs = inv.syncs[len(inv.syncs)-maxSyncs:]
	}
	if err := t.writeInventory(ctx, &inv); err != nil && result == nil {
		return fmt.Errorf("recording the sync in %s/%s: %w", t.Namespace, t.ParentName(), err)
	}
	l.inv = inv
	return result
}

// jobFinished reports whether a Job has finished: with its Failed condition's reason and
// message when it failed; while it runs, its counts.
func jobFinished(u *unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["status"] != "True" {
			continue
		}
		switch cm["type"] {
		case "Complete":
			return true, ""
		case "Failed":
			return true, fmt.Sprintf("%v: %v", cm["reason"], cm["message"])
		}
	}
	n := func(f string) int64 { v, _, _ := unstructured.NestedInt64(u.Object, "status", f); return v }
	return false, fmt.Sprintf("%d active, %d succeeded, %d failed", n("active"), n("succeeded"), n("failed"))
}
