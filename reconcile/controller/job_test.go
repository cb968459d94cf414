package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/memory"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

func job(t *testing.T, extra string) *manifest.Object {
	t.Helper()
	y := `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
` + extra + `
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: tool, command: [sh, -c, "exit 0"]}]
`
	objs, err := manifest.Parse([]manifest.File{{Path: "job.yaml", Data: []byte(y)}})
	if err != nil {
		t.Fatal(err)
	}
	return objs[0]
}

// finish ends every running pod of the backend with exit code (as a container that
// ran to completion).
func finish(b *memory.Backend, code func(p *backend.Pod) int) {
	pods, _ := b.ListPods(context.Background(), nil)
	for _, p := range pods {
		if p.Status.Phase != backend.PodRunning {
			continue
		}
		c := code(p)
		if c < 0 { // keeps running
			continue
		}
		b.SetStatus(p.ID, func(s *backend.PodStatus) {
			s.Phase, s.Ready = backend.PodSucceeded, false
			if c != 0 {
				s.Phase = backend.PodFailed
			}
			for i := range s.Containers {
				s.Containers[i].State, s.Containers[i].ExitCode, s.Containers[i].Reason = backend.StateTerminated, c, "Completed"
				if c != 0 {
					s.Containers[i].Reason = "Error"
				}
				s.Containers[i].FinishedAt = time.Now().Add(-time.Hour) // past any back-off
			}
		})
	}
}

func syncJobUntil(t *testing.T, r *Local, b *memory.Backend, obj *manifest.Object, code func(*backend.Pod) int) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				finish(b, code)
			}
		}
	}()
	return r.Sync(ctx, []*manifest.Object{obj}, reconcile.SyncOptions{Commit: "c1", Prune: true})
}

func TestJobCompletes(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	r.Poll = 10 * time.Millisecond
	if err := syncJobUntil(t, r, b, job(t, "  completions: 3\n  parallelism: 2"), func(*backend.Pod) int { return 0 }); err != nil {
		t.Fatal(err)
	}
	pods, _ := b.ListPods(context.Background(), nil)
	if len(pods) != 3 {
		t.Fatalf("%d pods, want 3 (completions)", len(pods))
	}
	for _, p := range pods {
		if !strings.HasPrefix(p.Name, "migrate-") || len(p.Name) != len("migrate-")+5 {
			t.Errorf("pod name %q is not migrate-<5 chars>", p.Name)
		}
		if p.Labels["job-name"] != "migrate" || p.Labels[manifest.JobNameLabel] != "migrate" || p.Labels[manifest.JobControllerUIDLabel] == "" {
			t.Errorf("pod labels %v lack Kubernetes' job labels", p.Labels)
		}
	}
	st, _ := Load(context.Background(), b, "shop")
	js := st.Objects[manifest.Key{Kind: "Job", Namespace: "default", Name: "migrate"}].JobStatusOf()
	if js.Condition != JobComplete || js.Succeeded != 3 {
		t.Errorf("status %+v, want Complete with 3 succeeded", js)
	}
	// a second sync runs nothing again
	if err := syncJobUntil(t, r, b, job(t, "  completions: 3\n  parallelism: 2"), func(*backend.Pod) int { return 0 }); err != nil {
		t.Fatal(err)
	}
	if again, _ := b.ListPods(context.Background(), nil); len(again) != 3 {
		t.Errorf("a second sync of a complete Job left %d pods, want 3", len(again))
	}
}

func TestJobFails(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	r.Poll = 10 * time.Millisecond
	err := syncJobUntil(t, r, b, job(t, "  backoffLimit: 1"), func(*backend.Pod) int { return 3 })
	var je *reconcile.JobError
	if !errors.As(err, &je) {
		t.Fatalf("err = %v, want a JobError", err)
	}
	pods, _ := b.ListPods(context.Background(), nil)
	if len(pods) != 2 {
		t.Errorf("%d pods, want 2 (backoffLimit 1: two failures)", len(pods))
	}
	if msg := err.Error(); !strings.Contains(msg, "BackoffLimitExceeded") || !strings.Contains(msg, "exited with code 3") || !strings.Contains(msg, "pod migrate-") {
		t.Errorf("error %q does not name the limit, the pod and its exit", msg)
	}
}

func TestJobDeadline(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	r.Poll = 10 * time.Millisecond
	err := syncJobUntil(t, r, b, job(t, "  activeDeadlineSeconds: 1"), func(*backend.Pod) int { return -1 })
	if err == nil || !strings.Contains(err.Error(), ReasonDeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}
