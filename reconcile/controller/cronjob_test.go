package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/memory"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

func cronJob(t *testing.T, extra string) *manifest.Object {
	t.Helper()
	y := `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  timeZone: UTC
` + extra + `
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: tool, command: [sh, -c, "exit 0"]}]
`
	objs, err := manifest.Parse([]manifest.File{{Path: "cj.yaml", Data: []byte(y)}})
	if err != nil {
		t.Fatal(err)
	}
	return objs[0]
}

// fakeSchedulers records what a sync asks of the schedulers.
type fakeSchedulers struct{ ensured, stopped []string }

func (f *fakeSchedulers) Ensure(_ context.Context, app string, k manifest.Key, hash string) error {
	f.ensured = append(f.ensured, app+" "+k.Name+" "+hash)
	return nil
}
func (f *fakeSchedulers) Stop(app string, k manifest.Key) {
	f.stopped = append(f.stopped, app+" "+k.Name)
}

var cronKey = manifest.Key{Kind: "CronJob", Namespace: "default", Name: "tick"}

// cronJobs lists the Jobs the CronJob made, by name, with their conditions.
func cronJobs(t *testing.T, b backend.Backend) map[string]string {
	t.Helper()
	st, err := Load(context.Background(), b, "shop")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, j := range st.JobsOf(cronKey) {
		out[j.Key.Name] = j.JobStatusOf().Condition
	}
	return out
}

// TestCronJobSchedules drives a CronJob's scheduler passes by a fake clock: a sync does
// not wait for it and starts its scheduler; a Job named NAME-<minutes> is made when a
// time comes; Forbid skips a time while a Job runs (it starts once that one is done);
// the history limit keeps the newest; suspend makes none; a changed CronJob ends the
// old scheduler; a prune stops the scheduler and removes the Jobs with their pods.
func TestCronJobSchedules(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	sch := &fakeSchedulers{}
	r.Schedulers = sch
	now := time.Date(2026, 12, 4, 12, 2, 0, 0, time.UTC)
	r.Now = func() time.Time { return now }
	ctx := context.Background()
	sync := func(objs ...*manifest.Object) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := r.Sync(c, objs, reconcile.SyncOptions{Commit: "c1", Prune: true, AllowEmpty: true}); err != nil {
			t.Fatal(err)
		}
	}
	pass := func(hash string) cronPass {
		t.Helper()
		p, err := r.schedulerPass(ctx, cronKey, hash)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	sync(cronJob(t, "  concurrencyPolicy: Forbid\n  successfulJobsHistoryLimit: 1"))
	if len(sch.ensured) != 1 {
		t.Fatalf("the sync ensured %v, want one scheduler", sch.ensured)
	}
	st, _ := Load(ctx, b, "shop")
	hash := CronJobHash(st.Objects[cronKey])

	if p := pass(hash); p.busy || !p.next.Equal(time.Date(2026, 12, 4, 12, 5, 0, 0, time.UTC)) {
		t.Fatalf("before its time: %+v, want idle until 12:05", p)
	}
	if jobs := cronJobs(t, b); len(jobs) != 0 {
		t.Fatalf("jobs before the schedule: %v", jobs)
	}
	now = time.Date(2026, 12, 4, 12, 5, 10, 0, time.UTC)
	first := CronJobJobName("tick", time.Date(2026, 12, 4, 12, 5, 0, 0, time.UTC))
	pass(hash)
	pass(hash) // the Job controller starts its pod
	if jobs := cronJobs(t, b); len(jobs) != 1 || jobs[first] != "" {
		t.Fatalf("jobs at 12:05 = %v, want %s running", jobs, first)
	}
	if pods, _ := b.ListPods(ctx, map[string]string{manifest.JobNameLabel: first}); len(pods) != 1 {
		t.Fatalf("%d pods of %s, want 1", len(pods), first)
	}
	if first != "tick-29939765" {
		t.Errorf("job name %s, want tick-29939765 (minutes since the epoch)", first)
	}

	now = time.Date(2026, 12, 4, 12, 10, 10, 0, time.UTC) // the first still runs: Forbid
	if p := pass(hash); !p.busy {
		t.Error("a forbidden run does not keep the scheduler looking")
	}
	if jobs := cronJobs(t, b); len(jobs) != 1 {
		t.Fatalf("Forbid: jobs = %v, want only %s", jobs, first)
	}
	finish(b, func(*backend.Pod) int { return 0 })
	pass(hash) // the first completes; the 12:10 run starts now
	second := CronJobJobName("tick", time.Date(2026, 12, 4, 12, 10, 0, 0, time.UTC))
	if jobs := cronJobs(t, b); jobs[first] != JobComplete || jobs[second] != "" || len(jobs) != 2 {
		t.Fatalf("jobs = %v, want %s complete and %s started", jobs, first, second)
	}
	pass(hash)
	finish(b, func(*backend.Pod) int { return 0 })
	pass(hash)
	pass(hash) // history limit 1: the first goes
	if jobs := cronJobs(t, b); len(jobs) != 1 || jobs[second] != JobComplete {
		t.Fatalf("jobs after the history limit = %v, want only %s", jobs, second)
	}
	if pods, _ := b.ListPods(ctx, map[string]string{manifest.JobNameLabel: first}); len(pods) != 0 {
		t.Errorf("%d pods of the removed Job %s left", len(pods), first)
	}

	sync(cronJob(t, "  concurrencyPolicy: Forbid\n  successfulJobsHistoryLimit: 1\n  suspend: true"))
	if _, err := r.schedulerPass(ctx, cronKey, hash); !errors.Is(err, ErrCronJobGone) {
		t.Fatalf("the old scheduler of a changed CronJob: %v, want ErrCronJobGone", err)
	}
	st, _ = Load(ctx, b, "shop")
	hash = CronJobHash(st.Objects[cronKey])
	if _, ok := st.Applied()[manifest.Key{Kind: "Job", Namespace: "default", Name: second}]; ok {
		t.Error("a CronJob's Job is among the objects applied from git")
	}
	now = time.Date(2026, 12, 4, 12, 15, 10, 0, time.UTC)
	pass(hash)
	if jobs := cronJobs(t, b); len(jobs) != 1 {
		t.Fatalf("suspended: jobs = %v", jobs)
	}

	sync() // the CronJob left git
	if len(sch.stopped) != 1 {
		t.Errorf("prune stopped %v, want its scheduler", sch.stopped)
	}
	if jobs := cronJobs(t, b); len(jobs) != 0 {
		t.Errorf("jobs after prune = %v", jobs)
	}
	if pods, _ := b.ListPods(ctx, nil); len(pods) != 0 {
		t.Errorf("%d pods after prune", len(pods))
	}
}

// TestCronJobReplaceAndDeadline: Replace stops the running Job for the new one; a time
// missed by more than startingDeadlineSeconds is not run.
func TestCronJobReplaceAndDeadline(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	now := time.Date(2026, 12, 4, 12, 2, 0, 0, time.UTC)
	r.Now = func() time.Time { return now }
	ctx := context.Background()
	if err := r.Sync(ctx, []*manifest.Object{cronJob(t, "  concurrencyPolicy: Replace\n  startingDeadlineSeconds: 30")}, reconcile.SyncOptions{Commit: "c1"}); err != nil {
		t.Fatal(err)
	}
	st, _ := Load(ctx, b, "shop")
	hash := CronJobHash(st.Objects[cronKey])
	now = time.Date(2026, 12, 4, 12, 6, 0, 0, time.UTC) // 60s late: past the deadline
	if _, err := r.schedulerPass(ctx, cronKey, hash); err != nil {
		t.Fatal(err)
	}
	if jobs := cronJobs(t, b); len(jobs) != 0 {
		t.Fatalf("a run 60s late with a 30s deadline was started: %v", jobs)
	}
	now = time.Date(2026, 12, 4, 12, 10, 5, 0, time.UTC)
	for range 2 {
		if _, err := r.schedulerPass(ctx, cronKey, hash); err != nil {
			t.Fatal(err)
		}
	}
	now = time.Date(2026, 12, 4, 12, 15, 5, 0, time.UTC)
	for range 2 {
		if _, err := r.schedulerPass(ctx, cronKey, hash); err != nil {
			t.Fatal(err)
		}
	}
	jobs := cronJobs(t, b)
	if len(jobs) != 1 || jobs[CronJobJobName("tick", time.Date(2026, 12, 4, 12, 15, 0, 0, time.UTC))] != "" {
		t.Fatalf("Replace: jobs = %v, want only the 12:15 run", jobs)
	}
	if pods, _ := b.ListPods(ctx, nil); len(pods) != 1 {
		t.Errorf("Replace: %d pods, want the new run's one", len(pods))
	}
}
