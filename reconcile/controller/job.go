package controller

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// Job conditions and reasons, as the Job controller writes them.
const (
	JobComplete             = "Complete"
	JobFailed               = "Failed"
	JobSuspended            = "Suspended"
	ReasonBackoffLimit      = "BackoffLimitExceeded"
	ReasonDeadlineExceeded  = "DeadlineExceeded"
	jobBackoffBase          = 10 * time.Second // the Job controller's DefaultJobPodFailureBackOff
	jobBackoffMax           = 6 * time.Minute  // and MaxJobPodFailureBackOff
	jobOwnerKind            = "Job"
	msgBackoffLimitExceeded = "Job has reached the specified backoff limit"
	msgDeadlineExceeded     = "Job was active longer than specified deadline"
)

// JobStatus is what kgit keeps of a Job on its record between syncs (the counts are
// read from its pods, which stay until the Job is replaced or its TTL passes).
type JobStatus struct {
	UID            string            `json:"uid,omitempty"`      // the pods' controller-uid
	Template       string            `json:"template,omitempty"` // the template it ran (a changed one starts it again)
	StartTime      time.Time         `json:"startTime,omitzero"`
	CompletionTime time.Time         `json:"completionTime,omitzero"`
	FinishedTime   time.Time         `json:"finishedTime,omitzero"` // Complete or Failed, for ttlSecondsAfterFinished
	Condition      string            `json:"condition,omitempty"`   // Complete, Failed or Suspended
	Reason         string            `json:"reason,omitempty"`      // of a Failed condition
	Message        string            `json:"message,omitempty"`     // of a Failed condition: the pod and its exit
	Active         int               `json:"active"`                // as last observed
	Succeeded      int               `json:"succeeded"`             //
	Failed         int               `json:"failed"`                //
	Collected      bool              `json:"collected,omitempty"`   // its TTL passed: its pods were deleted
	Counted        map[string]string `json:"counted,omitempty"`     // finished pods by UID: Succeeded or Failed
}

// jobRecordStatus is how a Job's status sits in its record's status, beside the fields
// of reconcile.Progress (which a Job does not use).
type jobRecordStatus struct {
	Job JobStatus `json:"job"`
}

// JobStatusOf returns a Job's status as last recorded.
func (o *Object) JobStatusOf() JobStatus {
	var s jobRecordStatus
	_ = json.Unmarshal(o.record.Status, &s) // an unreadable or missing status is a Job not started
	return s.Job
}

func (r *Local) saveJobStatus(ctx context.Context, a *Object, s JobStatus) error {
	data, err := json.Marshal(jobRecordStatus{Job: s})
	if err != nil {
		return err
	}
	if string(data) == string(a.record.Status) {
		return nil
	}
	a.record.Status = data
	return r.Backend.PutRecord(ctx, a.record)
}

// jobResult is one pass of the Job controller over one Job.
type jobResult struct {
	done    bool   // Complete, or nothing to wait for (suspended)
	failure string // Failed: why, naming a failed pod and its exit
}

// syncJob is the Job controller (NonIndexed): it runs pods from the template until
// completions of them have succeeded (parallelism at a time), re-creates failed ones
// after the controller's back-off, and fails the Job when more than backoffLimit pods
// failed (with OnFailure: container restarts count) or activeDeadlineSeconds passed.
// Finished pods stay, for their logs, until the Job is replaced or its TTL passes.
func (r *Local) syncJob(ctx context.Context, st *State, a *Object, job *manifest.Job) (jobResult, error) {
	spec := &job.Spec
	now := r.now()
	s := a.JobStatusOf()
	pods := r.live(st.PodsOf(a.Key))
	name := reconcile.ObjectName(a.Key)
	if tmpl := st.templateID(&spec.Template); s.Template != tmpl {
		if s.Template != "" { // a changed template: the Job is replaced, and runs again
			for _, p := range pods {
				r.deletePodBy(ctx, p, name, "SuccessfulDelete", "Deleted pod: %s (the Job's template changed)", p.Name)
			}
			pods = nil
		}
		s = JobStatus{UID: newUID(), Template: tmpl}
	}
	if s.Condition == JobComplete || s.Condition == JobFailed {
		if !s.Collected && spec.TTLSecondsAfterFinished != nil && !s.FinishedTime.Add(time.Duration(*spec.TTLSecondsAfterFinished)*time.Second).After(now) {
			for _, p := range pods {
				r.deletePodBy(ctx, p, name, "SuccessfulDelete", "Deleted pod: %s (ttlSecondsAfterFinished)", p.Name)
			}
			s.Collected = true
		}
		s.Active = 0
		return jobResult{done: s.Condition == JobComplete, failure: jobFailure(job, s)}, r.saveJobStatus(ctx, a, s)
	}

	var active, finished []*backend.Pod
	restarts := 0
	for _, p := range pods {
		if p.Status.Active() {
			active = append(active, p)
			if spec.Template.Spec.RestartPolicy == "OnFailure" {
				restarts += int(p.Status.Restarts())
			}
		} else if p.Status.Phase == backend.PodSucceeded || p.Status.Phase == backend.PodFailed {
			finished = append(finished, p)
		}
	}
	if s.Counted == nil {
		s.Counted = map[string]string{}
	}
	for _, p := range finished {
		if _, ok := s.Counted[p.UID]; !ok {
			s.Counted[p.UID] = p.Status.Phase
		}
	}
	s.Succeeded, s.Failed = 0, 0
	for _, phase := range s.Counted {
		if phase == backend.PodSucceeded {
			s.Succeeded++
		} else {
			s.Failed++
		}
	}
	s.Active = len(active)
	stopActive := func(why string) {
		for _, p := range active {
			r.deletePodBy(ctx, p, name, "SuccessfulDelete", "Deleted pod: %s (%s)", p.Name, why)
		}
		s.Active = 0
	}

	if *spec.Suspend {
		stopActive("the Job is suspended")
		if s.Condition != JobSuspended {
			r.event(name, "Suspended", "Job suspended")
		}
		s.Condition, s.StartTime = JobSuspended, time.Time{}
		return jobResult{done: true}, r.saveJobStatus(ctx, a, s)
	}
	if s.Condition == JobSuspended {
		r.event(name, "Resumed", "Job resumed")
		s.Condition = ""
	}
	if s.StartTime.IsZero() {
		s.StartTime = now.UTC()
	}
	fail := func(reason, msg string) (jobResult, error) {
		stopActive(reason)
		s.Condition, s.Reason, s.Message, s.FinishedTime = JobFailed, reason, msg, now.UTC()
		r.event(name, reason, "%s", msg)
		return jobResult{failure: jobFailure(job, s)}, r.saveJobStatus(ctx, a, s)
	}
	failures := s.Failed + restarts
	switch {
	case failures > int(*spec.BackoffLimit):
		return fail(ReasonBackoffLimit, msgBackoffLimitExceeded+whyPodsFailed(pods))
	case spec.ActiveDeadlineSeconds != nil && !s.StartTime.Add(time.Duration(*spec.ActiveDeadlineSeconds)*time.Second).After(now):
		return fail(ReasonDeadlineExceeded, msgDeadlineExceeded)
	}

	complete := false
	want := int(*spec.Parallelism)
	if spec.Completions != nil {
		remaining := int(*spec.Completions) - s.Succeeded
		complete = remaining <= 0
		want = min(want, max(remaining, 0))
	} else if s.Succeeded > 0 { // a work queue: done once one pod succeeded and none runs
		complete, want = len(active) == 0, 0
	}
	if complete {
		stopActive("the Job is complete")
		s.Condition, s.CompletionTime, s.FinishedTime = JobComplete, now.UTC(), now.UTC()
		r.event(name, "Completed", "Job completed")
		return jobResult{done: true}, r.saveJobStatus(ctx, a, s)
	}
	switch diff := want - len(active); {
	case diff > 0 && !r.jobBackingOff(finished, s.Failed, now):
		if err := r.createJobPods(ctx, st, a, job, s.UID, diff); err != nil {
			return jobResult{}, err
		}
		s.Active += diff
	case diff < 0: // parallelism went down: the newest go first
		sort.Slice(active, func(i, j int) bool { return active[i].Created.After(active[j].Created) })
		for _, p := range active[:-diff] {
			r.deletePodBy(ctx, p, name, "SuccessfulDelete", "Deleted pod: %s", p.Name)
		}
	}
	return jobResult{}, r.saveJobStatus(ctx, a, s)
}

// jobBackingOff reports whether a Job must wait before it replaces a failed pod: the
// Job controller's back-off, 10s doubled for each failure up to 6 minutes, counted
// from the last failure.
func (r *Local) jobBackingOff(finished []*backend.Pod, failed int, now time.Time) bool {
	if failed == 0 {
		return false
	}
	var last time.Time
	for _, p := range finished {
		if p.Status.Phase != backend.PodFailed {
			continue
		}
		for _, c := range p.Status.Containers {
			if c.FinishedAt.After(last) {
				last = c.FinishedAt
			}
		}
	}
	delay := jobBackoffBase
	for i := 1; i < failed && delay < jobBackoffMax; i++ {
		delay *= 2
	}
	return last.Add(min(delay, jobBackoffMax)).After(now)
}

// createJobPods creates n pods of a Job: JOB-xxxxx, labelled as Kubernetes labels them.
func (r *Local) createJobPods(ctx context.Context, st *State, a *Object, job *manifest.Job, uid string, n int) error {
	t := job.Spec.Template
	resolved, err := st.resolve(job.Namespace, &t.Spec)
	if err != nil {
		return fmt.Errorf("%s: %w", reconcile.ObjectName(a.Key), err)
	}
	tl := maps.Clone(t.Labels)
	if tl == nil {
		tl = map[string]string{}
	}
	tl[manifest.JobNameLabel], tl[manifest.LegacyJobNameLabel] = job.Name, job.Name
	tl[manifest.JobControllerUIDLabel], tl[manifest.LegacyControllerUID] = uid, uid
	labels := r.podLabels(tl, job.Namespace, jobOwnerKind, job.Name, "", "", a.Commit)
	for range n {
		spec := backend.PodSpec{Name: PodName(job.Name), Namespace: job.Namespace, Labels: labels, Annotations: t.Annotations, Spec: t.Spec}.WithValues(resolved)
		if err := r.createPod(ctx, reconcile.ObjectName(a.Key), spec); err != nil {
			return err
		}
	}
	return nil
}

// jobFailure is the line a failed Job gives the sync's error ("" unless it failed).
func jobFailure(job *manifest.Job, s JobStatus) string {
	if s.Condition != JobFailed {
		return ""
	}
	return fmt.Sprintf("job %q failed (%s): %s", job.Name, s.Reason, s.Message)
}

// whyPodsFailed names the last failed pod and how its container ended.
func whyPodsFailed(pods []*backend.Pod) string {
	var last *backend.Pod
	var lastC *backend.ContainerStatus
	var at time.Time
	for _, p := range pods {
		for i := range p.Status.Containers {
			c := &p.Status.Containers[i]
			t := c.LastTermination
			if c.State == backend.StateTerminated && c.ExitCode != 0 {
				t = &backend.Termination{ExitCode: c.ExitCode, Reason: c.Reason, FinishedAt: c.FinishedAt}
			}
			if t != nil && t.ExitCode != 0 && !t.FinishedAt.Before(at) {
				last, lastC, at = p, c, t.FinishedAt
				if c.State != backend.StateTerminated {
					lastC = &backend.ContainerStatus{Name: c.Name, ExitCode: t.ExitCode, Reason: t.Reason}
				}
			}
		}
	}
	if last == nil {
		return ""
	}
	reason := lastC.Reason
	if reason == "" {
		reason = "Error"
	}
	return fmt.Sprintf(": pod %s: container %s exited with code %d (%s)", last.Name, lastC.Name, lastC.ExitCode, reason)
}

// newUID is a random UUID (version 4), as the API server gives an object.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
