package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/backend/process"
)

// BenchmarkRollingUpdate10 times a 10-replica 25%/25% rolling update on real processes
// whose readiness probe (period 1 s) passes at its second run. Kubernetes' arithmetic
// needs two waves (5 new pods, then the other 5), so the least it can take is about two
// probe periods: the benchmark reports that floor beside the measured time.
//
//	go test ./cmd/kgit -run '^$' -bench RollingUpdate10 -benchtime 3x
func BenchmarkRollingUpdate10(b *testing.B) { benchmarkRollingUpdate(b, 10, 2) }

// BenchmarkRollingUpdate100 is the same with 100 replicas: 25%/25% makes 25 surge and
// 25 unavailable, so 50 new pods per wave and the floor is again about two probe periods
// (with 100 exec probes a second on 2 cores).
func BenchmarkRollingUpdate100(b *testing.B) { benchmarkRollingUpdate(b, 100, 2) }

func benchmarkRollingUpdate(b *testing.B, replicas int, floor float64) {
	e := newRolloutEnvB(b)
	e.commitN(replicas, "v1", rolling25, readyProbe, 600)
	if code, errs := e.kgit("sync"); code != 0 {
		b.Fatalf("sync v1: exit %d\n%s", code, errs)
	}
	e.git("tag", "v1")
	e.commitN(replicas, "v2", rolling25, readyProbe, 600)
	e.git("tag", "v2")
	// The rollouts run the binaries a user installs: kgit, and kgit-supervisor beside it
	// for the pods (not this test binary with its test dependencies).
	dir := b.TempDir()
	bin := backendtest.Build(b, dir, "cmd/kgit")
	backendtest.Build(b, dir, "cmd/"+process.SupervisorName)
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		ref := []string{"v2", "v1"}[i%2]
		start := time.Now()
		cmd := exec.Command(bin, "sync", "--ref", ref, "--repo", e.repo, "--app", "roll")
		cmd.Env = append(os.Environ(), process.SupervisorEnv+"=")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("sync %s: %v\n%s", ref, err, out)
		}
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/rollout")
	b.ReportMetric(floor, "floor-s/rollout")
}

// BenchmarkNoopSync1000 is `kgit sync` run in this process on a repository of 1000
// Deployments (replicas 0, one file each) that the process backend already holds: all of
// a cron sync that changes nothing (git, parsing, the backend's records), without the
// process start. Profile it with
//
//	go test ./cmd/kgit -run '^$' -bench NoopSync1000 -benchmem -cpuprofile cpu.prof
func BenchmarkNoopSync1000(b *testing.B) { benchmarkNoopSync(b, 1000, false, false) }

// BenchmarkNoopSync10000 is BenchmarkNoopSync1000 with 10,000 Deployments: a no-op sync
// must cost ten times one of 1000, no more.
func BenchmarkNoopSync10000(b *testing.B) { benchmarkNoopSync(b, 10000, false, false) }

// BenchmarkNoopSyncKustomize1000 is BenchmarkNoopSync1000 with the same 1000 Deployments
// listed as the resources of a kustomization: its render is kept in the state directory,
// so the ratio of the two is what a Kustomize app costs over plain YAML on a cron sync.
//
//	go test ./cmd/kgit -run '^$' -bench 'NoopSync(Kustomize)?1000' -benchmem -count 5
func BenchmarkNoopSyncKustomize1000(b *testing.B) { benchmarkNoopSync(b, 1000, true, false) }

// BenchmarkNoopSyncFull10000 is BenchmarkNoopSync10000 without the kept verdict of the
// last no-op (the first no-op after a change, or a lost state directory): the full pass
// over the tree and the backend's records.
func BenchmarkNoopSyncFull10000(b *testing.B) { benchmarkNoopSync(b, 10000, false, true) }

// benchmarkNoopSync times no-op syncs of n Deployments, listed by a kustomization or
// not; full drops the kept verdict before each.
func benchmarkNoopSync(b *testing.B, n int, kustomize, full bool) {
	e := newRolloutEnvB(b)
	var resources []string
	for i := range n {
		y := fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-%d}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: a%d}}\n"+
			"  template:\n    metadata: {labels: {app: a%d}}\n    spec:\n      containers: [{name: main, image: \"example.com/app:%d\", command: [sleep, \"3600\"]}]\n", i, i, i, i)
		name := fmt.Sprintf("app-%d.yaml", i)
		if err := os.WriteFile(filepath.Join(e.repo, name), []byte(y), 0o644); err != nil {
			b.Fatal(err)
		}
		resources = append(resources, "- "+name)
	}
	if kustomize {
		k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" + strings.Join(resources, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(e.repo, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	e.git("add", ".")
	e.git("commit", "-qm", "1000 deployments")
	if code, errs := e.kgit("sync"); code != 0 {
		b.Fatalf("first sync: exit %d\n%s", code, errs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if full {
			b.StopTimer()
			if err := os.RemoveAll(filepath.Join(os.Getenv("KGIT_STATE_DIR"), "steady")); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if code, errs := e.kgit("sync"); code != 0 {
			b.Fatalf("no-op sync: exit %d\n%s", code, errs)
		}
	}
}
