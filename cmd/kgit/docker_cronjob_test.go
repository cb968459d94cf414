package main

import (
	"os"
	"regexp"
	"testing"
	"time"
)

// TestDockerCronJob: a CronJob fires on the engine while no kgit command runs (its
// scheduler's clock made fast by KGIT_TEST_CRON_SPEEDUP), goes on firing once the state
// directory is gone, and a prune stops its scheduler and removes its Jobs.
func TestDockerCronJob(t *testing.T) {
	e, write := dockerWorkloads(t, "cron")
	t.Setenv("KGIT_TEST_CRON_SPEEDUP", "60")
	write("cj.yaml", `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 5
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: main, image: __IMAGE__, imagePullPolicy: Never, args: [exit, "0"]}
`)
	if code, errs := e.kgit("sync", "--timeout", "60s"); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errs)
	}
	if n := len(findProcs("__cron --backend docker")); n != 1 {
		t.Fatalf("%d schedulers after the sync, want 1", n)
	}
	complete := regexp.MustCompile(`(?m)^tick-[0-9]{8} +Complete +1/1 `)
	waitJobs := func(n int) {
		t.Helper()
		var out string
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if out = getOut(t, "cron", "get", "jobs"); len(complete.FindAllString(out, -1)) >= n {
				return
			}
		}
		t.Fatalf("no %d complete Jobs of the CronJob:\n%s", n, out)
	}
	waitJobs(1)
	if out := getOut(t, "cron", "get", "pods", "-l", "batch.kubernetes.io/job-name"); !regexp.MustCompile(`(?m)^tick-[0-9]{8}-[a-z0-9]{5} +0/1 +Completed `).MatchString(out) {
		t.Errorf("the Job's pod did not run to completion:\n%s", out)
	}
	if err := os.RemoveAll(os.Getenv("KGIT_STATE_DIR")); err != nil {
		t.Fatal(err)
	}
	waitJobs(3)

	e.git("rm", "-q", "cj.yaml")
	e.git("commit", "-qm", "gone")
	if code, errs := e.kgit("sync", "--timeout", "60s", "--allow-empty"); code != 0 {
		t.Fatalf("sync of the prune: exit %d\n%s", code, errs)
	}
	if n := len(findProcs("__cron --backend docker")); n != 0 {
		t.Errorf("%d schedulers after the prune, want 0", n)
	}
	if out := getOut(t, "cron", "get", "jobs"); complete.MatchString(out) {
		t.Errorf("Jobs left after the prune:\n%s", out)
	}
}
