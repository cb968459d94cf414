package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"sort"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// cronJobOwnerKind labels the Jobs a CronJob made (kgit.dev/owner-kind): they are not in
// git, so the GitOps layer neither diffs nor prunes them, and a sync does not wait for
// them; the CronJob's scheduler runs them.
const cronJobOwnerKind = "CronJob"

// Schedulers start and stop the host processes that run CronJobs after kgit has exited
// (kgit's CLI provides them; without, as in unit tests, CronJobs are only recorded).
type Schedulers interface {
	// Ensure makes one scheduler run for the CronJob k of app at the version hash (a
	// scheduler of another version is replaced).
	Ensure(ctx context.Context, app string, k manifest.Key, hash string) error
	// Stop stops the CronJob's scheduler, if one runs.
	Stop(app string, k manifest.Key)
}

// CronJobStatus is what a CronJob's scheduler keeps on its record.
type CronJobStatus struct {
	LastScheduleTime   time.Time `json:"lastScheduleTime,omitzero"`
	LastSuccessfulTime time.Time `json:"lastSuccessfulTime,omitzero"`
	Active             []string  `json:"active,omitempty"` // the Jobs running, by name
}

type cronRecordStatus struct {
	CronJob CronJobStatus `json:"cronJob"`
}

// CronJobStatusOf returns a CronJob's status as its scheduler last recorded it.
func (o *Object) CronJobStatusOf() CronJobStatus {
	var s cronRecordStatus
	_ = json.Unmarshal(o.record.Status, &s) // none yet: never scheduled
	return s.CronJob
}

// CronJobHash is the version of a CronJob's record that a scheduler runs: a scheduler
// whose CronJob changed is replaced.
func CronJobHash(o *Object) string {
	sum := sha256.Sum256(o.record.Data)
	return hex.EncodeToString(sum[:6])
}

// JobsOf returns the Jobs a CronJob made, oldest scheduled first.
func (s *State) JobsOf(cj manifest.Key) []*Object {
	var out []*Object
	for _, o := range s.Objects {
		if o.Key.Kind == "Job" && o.Key.Namespace == cj.Namespace && o.record.Labels[backend.LabelOwnerKind] == cronJobOwnerKind &&
			o.record.Labels[backend.LabelOwner] == cj.Name {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].Key.Name < out[j].Key.Name
	})
	return out
}

// madeByCronJob reports whether an object is a Job a CronJob made.
func madeByCronJob(o *Object) bool {
	return o.record.Labels[backend.LabelOwnerKind] == cronJobOwnerKind
}

// MadeBy names the CronJob that made a Job, if one did.
func (o *Object) MadeBy() (string, bool) {
	if !madeByCronJob(o) {
		return "", false
	}
	return o.record.Labels[backend.LabelOwner], true
}

// ensureSchedulers has a scheduler run for each CronJob of the app.
func (r *Local) ensureSchedulers(ctx context.Context, st *State) error {
	if r.Schedulers == nil {
		return nil
	}
	for _, a := range sortedApplied(st) {
		if _, ok := a.Object.(*manifest.CronJob); ok {
			if err := r.Schedulers.Ensure(ctx, r.App, a.Key, CronJobHash(a)); err != nil {
				return fmt.Errorf("%s: %w", reconcile.ObjectName(a.Key), err)
			}
		}
	}
	return nil
}

// pruneCronJob stops a CronJob's scheduler and removes the Jobs it made, with their pods.
func (r *Local) pruneCronJob(ctx context.Context, st *State, k manifest.Key) error {
	from := st
	if r.Schedulers != nil {
		r.Schedulers.Stop(r.App, k)
		// The scheduler takes no lock: it may have made a Job (or its pod) after st was
		// read. Now that it has stopped, read the Jobs again, so that none is left behind.
		var err error
		if from, err = Load(ctx, r.Backend, r.App); err != nil {
			return err
		}
	}
	jobs := from.JobsOf(k)
	if err := r.deleteJobs(ctx, from, jobs, "its CronJob was pruned"); err != nil {
		return err
	}
	for _, j := range jobs {
		delete(st.Objects, j.Key)
	}
	return nil
}

// deleteJobs deletes Jobs (a CronJob's) with their pods.
func (r *Local) deleteJobs(ctx context.Context, st *State, jobs []*Object, why string) error {
	for _, j := range jobs {
		for _, p := range st.PodsOf(j.Key) {
			r.deletePod(ctx, p, "Killing", "Stopping pod %s: %s", p.Name, why)
		}
	}
	if err := r.WaitDeletes(); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := r.Backend.DeleteRecord(ctx, j.record); err != nil && !errors.Is(err, backend.ErrNotFound) {
			return err
		}
		delete(st.Objects, j.Key)
	}
	return nil
}

// cronPass is what one pass of the CronJob controller found.
type cronPass struct {
	next time.Time // the next scheduled time (zero: none, or suspended)
	busy bool      // a Job of it runs, or one is waiting to start: look again soon
}

// syncCronJob is the CronJob controller: it runs the Job controller over the CronJob's
// unfinished Jobs, removes finished ones beyond the history limits, and creates the Job
// of the most recent scheduled time not yet run (NAME-<minutes since the epoch>, as
// Kubernetes names it) unless it is suspended, too late (startingDeadlineSeconds) or
// forbidden by the concurrency policy.
func (r *Local) syncCronJob(ctx context.Context, st *State, a *Object, cj *manifest.CronJob) (cronPass, error) {
	var pass cronPass
	now := r.now()
	status := a.CronJobStatusOf()
	spec := &cj.Spec
	var active, succeeded, failed []*Object
	for _, j := range st.JobsOf(a.Key) {
		js := j.JobStatusOf()
		if js.Condition != JobComplete && js.Condition != JobFailed {
			res, err := r.syncJob(ctx, st, j, j.Object.(*manifest.Job))
			if err != nil {
				return pass, err
			}
			js = j.JobStatusOf()
			if !res.done && res.failure == "" {
				active = append(active, j)
				continue
			}
		}
		if js.Condition == JobComplete {
			succeeded = append(succeeded, j)
			if js.CompletionTime.After(status.LastSuccessfulTime) {
				status.LastSuccessfulTime = js.CompletionTime
			}
		} else {
			failed = append(failed, j)
		}
	}
	var old []*Object
	if n := len(succeeded) - int(*spec.SuccessfulJobsHistoryLimit); n > 0 {
		old = append(old, succeeded[:n]...)
	}
	if n := len(failed) - int(*spec.FailedJobsHistoryLimit); n > 0 {
		old = append(old, failed[:n]...)
	}
	for _, j := range old {
		r.event(reconcile.ObjectName(a.Key), "SuccessfulDelete", "Deleted job %s", j.Key.Name)
	}
	if err := r.deleteJobs(ctx, st, old, "its CronJob's history limit"); err != nil {
		return pass, err
	}

	sched, err := manifest.ParseSchedule(spec.Schedule)
	if err != nil {
		return pass, err // validated when applied
	}
	loc, err := spec.Location()
	if err != nil {
		return pass, err
	}
	now = now.In(loc)
	pass.next = sched.Next(now)
	if !*spec.Suspend {
		earliest := a.Created
		if !status.LastScheduleTime.IsZero() {
			earliest = status.LastScheduleTime
		}
		if d := spec.StartingDeadlineSeconds; d != nil && earliest.Before(now.Add(-time.Duration(*d)*time.Second)) {
			earliest = now.Add(-time.Duration(*d) * time.Second)
		}
		if due := mostRecentSchedule(sched, earliest.In(loc), now); !due.IsZero() {
			switch {
			case spec.ConcurrencyPolicy == manifest.ForbidConcurrent && len(active) > 0:
				r.event(reconcile.ObjectName(a.Key), "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
				pass.busy = true // it starts once they are done, unless its deadline passes
			default:
				if spec.ConcurrencyPolicy == manifest.ReplaceConcurrent && len(active) > 0 {
					if err := r.deleteJobs(ctx, st, active, "replaced by a newer run of its CronJob"); err != nil {
						return pass, err
					}
					active = nil
				}
				name, err := r.createCronJobJob(ctx, st, a, cj, due)
				if err != nil {
					return pass, err
				}
				active = append(active, st.Objects[manifest.Key{Kind: "Job", Namespace: cj.Namespace, Name: name}])
				status.LastScheduleTime = due.UTC()
			}
		}
	}
	status.Active = nil
	for _, j := range active {
		if j != nil {
			status.Active = append(status.Active, j.Key.Name)
		}
	}
	pass.busy = pass.busy || len(status.Active) > 0
	return pass, r.saveCronJobStatus(ctx, a, status)
}

// mostRecentSchedule is the latest time of the schedule after earliest and not after
// now (zero when none).
func mostRecentSchedule(sched *manifest.Schedule, earliest, now time.Time) time.Time {
	var last time.Time
	for t := sched.Next(earliest); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		last = t
	}
	return last
}

// CronJobJobName is the name of the Job a CronJob makes for a scheduled time: the
// CronJob's name and the minutes since the epoch, as Kubernetes names it.
func CronJobJobName(cronJob string, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cronJob, scheduled.Unix()/60)
}

// createCronJobJob writes the record of the Job of a scheduled time (unless it exists:
// that run happened) and returns its name; the Job controller starts its pods.
func (r *Local) createCronJobJob(ctx context.Context, st *State, a *Object, cj *manifest.CronJob, scheduled time.Time) (string, error) {
	name := CronJobJobName(cj.Name, scheduled)
	if st.Objects[manifest.Key{Kind: "Job", Namespace: cj.Namespace, Name: name}] != nil {
		return name, nil
	}
	return name, r.writeCronJobJob(ctx, st, a, cj, name, manifest.CronJobScheduledAnnotation, scheduled.Format(time.RFC3339))
}

// writeCronJobJob writes the record of a Job made from a CronJob's template, annotated
// with key: value.
func (r *Local) writeCronJobJob(ctx context.Context, st *State, a *Object, cj *manifest.CronJob, name, key, value string) error {
	t := cj.Spec.JobTemplate
	job := &manifest.Job{TypeMeta: manifest.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: t.ObjectMeta, Spec: t.Spec}
	job.Name, job.Namespace = name, cj.Namespace
	job.Annotations = maps.Clone(t.Annotations)
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	job.Annotations[key] = value
	data, err := json.Marshal(job)
	if err != nil {
		return err
	}
	rec := r.record("Job", &job.ObjectMeta, data, a.Commit, map[string]string{backend.LabelOwnerKind: cronJobOwnerKind, backend.LabelOwner: cj.Name}, time.Time{})
	if err := r.Backend.PutRecord(ctx, rec); err != nil {
		return err
	}
	st.put(&Object{Applied: reconcile.Applied{Key: manifest.Key{Kind: "Job", Namespace: cj.Namespace, Name: name}, Object: job, Commit: a.Commit, Created: rec.Created, Data: data}, record: rec})
	r.event(reconcile.ObjectName(a.Key), "SuccessfulCreate", "Created job %s", name)
	return nil
}

// CreateJobFrom makes a Job NAME from a CronJob's template now, as `kubectl create job
// --from=cronjob/CJ` does (annotated cronjob.kubernetes.io/instantiate: manual, owned by
// the CronJob, counted in its history), and has the CronJob's scheduler run it at once.
func (r *Local) CreateJobFrom(ctx context.Context, st *State, cj manifest.Key, name string) error {
	a := st.Objects[cj]
	if a == nil {
		return fmt.Errorf("cronjobs.batch %q not found in app %s (namespace %s): %w", cj.Name, r.App, cj.Namespace, backend.ErrNotFound)
	}
	if st.Objects[manifest.Key{Kind: "Job", Namespace: cj.Namespace, Name: name}] != nil {
		return fmt.Errorf("jobs.batch %q: %w", name, backend.ErrAlreadyExists)
	}
	if err := r.writeCronJobJob(ctx, st, a, a.Object.(*manifest.CronJob), name, "cronjob.kubernetes.io/instantiate", "manual"); err != nil {
		return err
	}
	if r.Schedulers == nil {
		return nil
	}
	r.Schedulers.Stop(r.App, cj) // a new one makes its first pass at once
	return r.Schedulers.Ensure(ctx, r.App, cj, CronJobHash(a))
}

// saveCronJobStatus writes the status on the CronJob's record, unless the record
// changed meanwhile (a sync applied a new version: its new scheduler takes over).
func (r *Local) saveCronJobStatus(ctx context.Context, a *Object, s CronJobStatus) error {
	data, err := json.Marshal(cronRecordStatus{CronJob: s})
	if err != nil || string(data) == string(a.record.Status) {
		return err
	}
	recs, err := r.Backend.ListRecords(ctx, map[string]string{backend.LabelApp: r.App, backend.LabelNamespace: a.Key.Namespace})
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Kind == a.Key.Kind && rec.Name == a.Key.Name && string(rec.Data) == string(a.record.Data) {
			a.record.Status = data
			return r.Backend.PutRecord(ctx, a.record)
		}
	}
	return nil
}

// ErrCronJobGone ends a scheduler: its CronJob was removed or changed.
var ErrCronJobGone = errors.New("the CronJob is gone or changed")

// Clock is the time a scheduler goes by: now, and a real wait for a span of its time.
type Clock struct {
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) // returns early when ctx ends
}

// RunScheduler is the body of a CronJob's scheduler, a host process that outlives kgit:
// it runs the CronJob controller over the CronJob k of app whenever one of its times
// comes, and every second while one of its Jobs runs, reading everything from the
// backend. Between times it sleeps, waking every ten minutes only to see that its
// CronJob's record is still there (a prune or down stops it at once; this is for a
// backend emptied behind kgit's back). It returns nil when the CronJob is gone or
// changed (hash), or ctx ends.
func RunScheduler(ctx context.Context, b backend.Backend, app string, k manifest.Key, hash string, clock Clock) error {
	r := New(b, app, nil, nil)
	r.Now = clock.Now
	const busyPoll, retry, idleCheck = time.Second, 10 * time.Second, 10 * time.Minute
	var due time.Time // the next pass; zero: now
	for ctx.Err() == nil {
		now := r.now()
		if !now.Before(due) {
			pass, err := r.schedulerPass(ctx, k, hash)
			switch {
			case errors.Is(err, ErrCronJobGone):
				return nil
			case err != nil:
				fmt.Fprintf(os.Stderr, "kgit: cronjob %s/%s: %v\n", k.Namespace, k.Name, err)
				due = now.Add(retry)
			case pass.busy:
				due = now.Add(busyPoll)
			case pass.next.IsZero(): // suspended, or no time comes: only look after it
				due = now.Add(100 * 365 * 24 * time.Hour)
			default:
				due = pass.next
			}
		} else if gone, err := r.cronJobGone(ctx, k, hash); gone {
			return nil
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "kgit: cronjob %s/%s: %v\n", k.Namespace, k.Name, err)
		}
		clock.Sleep(ctx, max(min(due.Sub(r.now()), idleCheck), 0))
	}
	return nil
}

// cronJobGone reports whether the CronJob's record is gone or changed: one listing of
// the records of its namespace, without the pods.
func (r *Local) cronJobGone(ctx context.Context, k manifest.Key, hash string) (bool, error) {
	recs, err := r.Backend.ListRecords(ctx, map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: r.App, backend.LabelNamespace: k.Namespace})
	if err != nil {
		return false, err
	}
	for _, rec := range recs {
		if rec.Kind == k.Kind && rec.Name == k.Name {
			return CronJobHash(&Object{record: rec}) != hash, nil
		}
	}
	return true, nil
}

// schedulerPass loads the app and runs the CronJob controller once.
func (r *Local) schedulerPass(ctx context.Context, k manifest.Key, hash string) (cronPass, error) {
	st, err := Load(ctx, r.Backend, r.App)
	if err != nil {
		return cronPass{}, err
	}
	a := st.Objects[k]
	if a == nil || CronJobHash(a) != hash {
		return cronPass{}, ErrCronJobGone
	}
	r.settle(st)
	pass, err := r.syncCronJob(ctx, st, a, a.Object.(*manifest.CronJob))
	return pass, errors.Join(err, r.WaitDeletes())
}
