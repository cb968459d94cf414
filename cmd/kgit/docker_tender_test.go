package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker"
	"kgit.dev/kgit/backend/docker/dockertest"
)

// tenderYAML: tweb's pods are ready only after two readiness successes in a row (so one
// look of a fresh kgit, probing for itself, never finds them ready: only a prober that
// kept looking does), behind a NodePort Service; tlive's pod has a liveness probe. Both
// fail their probes once the file /unhealthy exists in the container.
func tenderYAML(image string, nodePort int) string {
	deploy := func(name string, replicas int, probe string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[2]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: %[3]s
        args: [serve]
        env: [{name: UNHEALTHY, value: /unhealthy}]
        ports: [{name: http, containerPort: 8080}]
        %[4]s:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
          failureThreshold: 1
`, name, replicas, image, probe)
	}
	web := strings.Replace(deploy("tweb", 2, "readinessProbe"), "periodSeconds: 1\n", "periodSeconds: 1\n          successThreshold: 2\n", 1)
	return web + fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: tweb}
spec:
  type: NodePort
  selector: {app: tweb}
  ports: [{port: 80, targetPort: http, nodePort: %d}]
---
`, nodePort) + deploy("tlive", 1, "livenessProbe")
}

// TestDockerTender: after `kgit sync` has exited, the app's tender keeps probing its
// pods. A kgit that has just started reads readiness that needs two looks a second
// apart; a pod whose readiness endpoint starts failing becomes not ready and leaves its
// Service (the NodePort answers only from the other pod); a failing liveness probe
// restarts the container and its restart count goes up. A second sync finds the same
// tender; after `down` the tender exits. No kgit command runs meanwhile: the test
// reads the pods through a new docker backend at each look.
func TestDockerTender(t *testing.T) {
	b := dockertest.Engine(t)
	testTender(t, b, docker.Name, "tend", 30087)
}

// TestDockerTenderPodman is TestDockerTender on Podman's socket (`--backend podman`).
func TestDockerTenderPodman(t *testing.T) {
	b := dockertest.Podman(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	testTender(t, b, docker.PodmanName, "tendpodman", 30088)
}

func testTender(t *testing.T, b *docker.Backend, backendName, app string, nodePort int) {
	dockertest.CleanupEngine(t, b, app)
	repo := dockertest.BuildTestImages(t, b, "v1")
	e := newRolloutEnvB(t)
	e.app = app
	t.Setenv("KGIT_BACKEND", backendName)
	if err := os.WriteFile(filepath.Join(e.repo, "app.yaml"), []byte(tenderYAML(repo+":v1", nodePort)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("add", "app.yaml")
	e.git("commit", "-qm", "app")
	if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errs)
	}
	tender := b.TenderPID(app)
	if tender == 0 || !running(tender) {
		t.Fatalf("no live tender of the app after sync (PID %d)", tender)
	}
	// the next sync finds the same tender
	if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
		t.Fatalf("second sync: exit %d\n%s", code, errs)
	}
	if got := b.TenderPID(app); got != tender {
		t.Errorf("tender after the second sync: PID %d, want the same one, %d", got, tender)
	}
	ctx := context.Background()
	// look reads the pods of a Deployment as a kgit that has just started does.
	look := func(deploy string) []*backend.Pod {
		t.Helper()
		var nb *docker.Backend
		var err error
		if backendName == docker.PodmanName {
			nb, err = docker.NewPodman(ctx, io.Discard)
		} else {
			nb, err = docker.New(io.Discard)
		}
		if err != nil {
			t.Fatal(err)
		}
		pods, err := nb.ListPods(ctx, map[string]string{backend.LabelApp: app, "app": deploy})
		if err != nil {
			t.Fatal(err)
		}
		return pods
	}
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !ok(); time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not within %v: %s", d, what)
			}
		}
	}
	var web []*backend.Pod
	waitFor("web's two pods ready on a new kgit's first look", 20*time.Second, func() bool {
		web = look("tweb")
		return len(web) == 2 && web[0].Status.Ready && web[1].Status.Ready
	})

	// tweb's first pod starts failing its readiness probe
	sick, well := web[0], web[1]
	unhealthy(t, b, sick)
	waitFor(sick.Name+" not ready and "+well.Name+" still ready", 20*time.Second, func() bool {
		pods := look("tweb")
		ready := map[string]bool{}
		for _, p := range pods {
			ready[p.Name] = p.Status.Ready
		}
		return len(pods) == 2 && !ready[sick.Name] && ready[well.Name]
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/pod", nodePort)
	answers := map[string]int{}
	waitFor("the Service answering only from "+well.Name, 20*time.Second, func() bool {
		got, err := getSoon(url)
		if err != nil || got != well.Name {
			answers = map[string]int{}
			return false
		}
		answers[got]++
		return answers[got] >= 10 // ten in a row
	})

	// tlive's pod fails its liveness probe: restarted, and counted
	live := look("tlive")
	if len(live) != 1 {
		t.Fatalf("live: %d pods", len(live))
	}
	before := live[0].Status.Containers[0]
	unhealthy(t, b, live[0])
	waitFor("live's container restarted by its liveness probe, its restart count up", 40*time.Second, func() bool {
		p := look("tlive")
		if len(p) != 1 {
			return false
		}
		c := p[0].Status.Containers[0]
		return c.RestartCount > before.RestartCount && c.StartedAt.After(before.StartedAt)
	})

	if code, errs := e.kgit("down"); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, errs)
	}
	waitFor("the tender gone after down", 20*time.Second, func() bool { return b.TenderPID(app) == 0 && !running(tender) })
}

// running reports whether a process runs (the tests' tenders, children of the test that
// never waits for them, stay zombies once they exit).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// unhealthy makes the pod's probes fail: it creates /unhealthy in its container.
func unhealthy(t *testing.T, b *docker.Backend, p *backend.Pod) {
	t.Helper()
	code, err := b.Exec(context.Background(), p, "main", backend.ExecOptions{Command: []string{"/testapp", "write", "/unhealthy", "x"},
		Stdout: io.Discard, Stderr: io.Discard})
	// Podman forgets the exec when the container restarts, which the liveness probe may
	// have done already: what follows checks that the file was written
	if err != nil && strings.Contains(err.Error(), "no such exec session") {
		return
	}
	if code != 0 || err != nil {
		t.Fatalf("exec in %s: exit %d, %v", p.Name, code, err)
	}
}
