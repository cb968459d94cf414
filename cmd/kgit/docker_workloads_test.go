package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"kgit.dev/kgit/backend/docker"
	"kgit.dev/kgit/backend/docker/dockertest"
)

// dockerWorkloads sets up an app on the real engine whose manifests are written by
// write, with __IMAGE__ replaced by the test image.
func dockerWorkloads(t *testing.T, app string) (e *rolloutEnv, write func(name, y string)) {
	b := dockertest.Engine(t)
	dockertest.CleanupEngine(t, b, app)
	repo := dockertest.BuildTestImages(t, b, "v1")
	e = newRolloutEnvB(t)
	e.app = app
	t.Setenv("KGIT_BACKEND", "docker")
	t.Cleanup(func() { e.kgit("down") })
	return e, func(name, y string) {
		t.Helper()
		y = strings.ReplaceAll(y, "__IMAGE__", repo+":v1")
		if err := os.WriteFile(filepath.Join(e.repo, name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", name)
		e.git("commit", "-qm", name)
	}
}

func getOut(t *testing.T, app string, args ...string) string {
	t.Helper()
	var out strings.Builder
	if code := runCLI(&out, append(args, "--app", app)...); code != 0 {
		t.Fatalf("kgit %v: exit %d\n%s", args, code, out.String())
	}
	return out.String()
}

// TestDockerJob: a Job that succeeds (two completions, two at a time) and one that
// fails (exit 4 naming the pod and its exit code), on the engine.
func TestDockerJob(t *testing.T) {
	e, write := dockerWorkloads(t, "jobs")
	write("job.yaml", `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  completions: 2
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: __IMAGE__, imagePullPolicy: Never, args: [exit, "0"]}
`)
	if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errs)
	}
	if out := getOut(t, "jobs", "get", "jobs"); !regexp.MustCompile(`(?m)^migrate +Complete +2/2 `).MatchString(out) {
		t.Errorf("get jobs after the sync:\n%s", out)
	}
	write("broken.yaml", `apiVersion: batch/v1
kind: Job
metadata: {name: broken}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: __IMAGE__, imagePullPolicy: Never, args: [exit, "3"]}
`)
	code, errs := e.kgit("sync", "--timeout", "120s")
	if code != 4 || !regexp.MustCompile(`job "broken" failed \(BackoffLimitExceeded\): .*pod broken-[a-z0-9]{5}: container main exited with code 3`).MatchString(errs) {
		t.Fatalf("sync of a failing Job: exit %d, want 4 naming the pod and its exit\n%s", code, errs)
	}
	if out := getOut(t, "jobs", "get", "jobs", "broken"); !regexp.MustCompile(`(?m)^broken +Failed +0/1 `).MatchString(out) {
		t.Errorf("get jobs broken:\n%s", out)
	}
}

// TestDockerInitContainers: init containers run in order, each to completion, before
// the app container, which sees what they wrote; a sidecar runs beside it.
func TestDockerInitContainers(t *testing.T) {
	e, write := dockerWorkloads(t, "initc")
	write("pod.yaml", `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - name: first
    image: __IMAGE__
    imagePullPolicy: Never
    args: [write, /work/order, first]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: second
    image: __IMAGE__
    imagePullPolicy: Never
    args: [write, /work/order, second]
    volumeMounts: [{name: work, mountPath: /work}]
  - {name: side, image: __IMAGE__, imagePullPolicy: Never, restartPolicy: Always, args: [sleep]}
  containers:
  - name: main
    image: __IMAGE__
    imagePullPolicy: Never
    args: [files, /work]
    volumeMounts: [{name: work, mountPath: /work}]
`)
	if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errs)
	}
	// the sync ends when main runs, which may be before it has listed the files
	out := getOut(t, "initc", "logs", "web", "-c", "main")
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(out, "/work/order") && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		out = getOut(t, "initc", "logs", "web", "-c", "main")
	}
	if !strings.Contains(out, "/work/order 644 first\nsecond\n") {
		t.Errorf("the app container's view of what the init containers wrote:\n%s", out)
	}
	if out := getOut(t, "initc", "get", "pods"); !regexp.MustCompile(`(?m)^web +1/1 +Running +0 `).MatchString(out) {
		t.Errorf("get pods:\n%s", out)
	}
}

// hpaApp is a Deployment of one container (its args and resources as YAML) with git's
// replicas 1, and an autoscaler of it between min and max (with metrics, YAML).
func hpaApp(args, resources string, minReplicas, maxReplicas int, metrics string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: __IMAGE__, imagePullPolicy: Never, args: %s, resources: %s}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: %d
  maxReplicas: %d
%s`, args, resources, minReplicas, maxReplicas, metrics)
}

// TestDockerHPAFloor: an autoscaler holds its Deployment at minReplicas over git's
// replicas on the engine (its pods request no CPU to measure against).
func TestDockerHPAFloor(t *testing.T) {
	e, write := dockerWorkloads(t, "hpa")
	write("app.yaml", hpaApp("[sleep]", "{}", 2, 4, ""))
	if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errs)
	}
	if out := getOut(t, "hpa", "get", "deploy", "web"); !regexp.MustCompile(`(?m)^web +2/2 +2 +2 `).MatchString(out) {
		t.Errorf("get deploy web: want 2 replicas (the autoscaler's floor over git's 1):\n%s", out)
	}
}

// TestDockerClaimAndNamespace: a PersistentVolumeClaim of its own, in a Namespace of its
// own, is Bound; the pods that mount it keep its data across a rollout; the namespace's
// objects leaving git prune the pods, then the claim with its volume, then the Namespace.
func TestDockerClaimAndNamespace(t *testing.T) {
	e, write := dockerWorkloads(t, "claims")
	write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n")
	write("claim.yaml", `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: team}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`)
	web := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: __IMAGE__
        imagePullPolicy: Never
        args: [files, /data]
        env: [{name: BOOTS_FILE, value: /data/boots}, {name: VERSION, value: VERSION}]
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`
	boots := func(version, want string) {
		t.Helper()
		write("web.yaml", strings.ReplaceAll(web, "VERSION}", version+"}"))
		if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
			t.Fatalf("sync %s: exit %d\n%s", version, code, errs)
		}
		pod := strings.TrimSpace(getOut(t, "claims", "get", "pods", "-n", "team", "-o", "name"))
		if strings.Count(pod, "\n") != 0 || pod == "" {
			t.Fatalf("pods of team after the sync: %q, want one", pod)
		}
		var logs string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if logs = getOut(t, "claims", "logs", strings.TrimPrefix(pod, "pod/")); strings.Contains(logs, "done") {
				break
			}
		}
		if !strings.Contains(logs, want) {
			t.Fatalf("%s: logs of %s:\n%s\nwant %s (the claim's data kept)", version, pod, logs, want)
		}
	}
	boots("v1", "boots=1")
	if out := getOut(t, "claims", "get", "pvc", "-n", "team"); !regexp.MustCompile(`(?m)^data +Bound +kgit-pvc-team-data +1Gi +RWO +`).MatchString(out) {
		t.Errorf("get pvc:\n%s", out)
	}
	boots("v2", "boots=2")

	e.git("rm", "-q", "ns.yaml", "claim.yaml", "web.yaml")
	e.git("commit", "-qm", "no team")
	code, errs := e.kgit("sync", "--timeout", "120s", "--allow-empty")
	if code != 0 || !regexp.MustCompile(`(?s)deployment.apps/web pruned.*persistentvolumeclaim/data pruned.*namespace/team pruned`).MatchString(errs) {
		t.Fatalf("sync of the prune: exit %d, want the Deployment, the claim, then the Namespace pruned\n%s", code, errs)
	}
	if _, err := dockertest.Client(dockertest.Engine(t)).VolumeInspect(context.Background(), docker.ClaimVolume("team", "data"), client.VolumeInspectOptions{}); err == nil {
		t.Error("the claim's volume is still there after the claim was pruned")
	}
}

// TestDockerHPAOnCPU: an autoscaler scales its Deployment on the CPU the engine's stats
// measure against the pods' requests: the first sync has no pod to measure and holds the
// floor, the second measures ~50m of 10m requested and scales to maxReplicas.
func TestDockerHPAOnCPU(t *testing.T) {
	e, write := dockerWorkloads(t, "hpacpu")
	write("app.yaml", hpaApp(`[burn, "50"]`, "{requests: {cpu: 10m}}", 1, 3, `  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`))
	for i, want := range []string{`(?m)^web +1/1 +1 +1 `, `(?m)^web +3/3 +3 +3 `} {
		if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
			t.Fatalf("sync %d: exit %d\n%s", i+1, code, errs)
		}
		if out := getOut(t, "hpacpu", "get", "deploy", "web"); !regexp.MustCompile(want).MatchString(out) {
			t.Fatalf("after sync %d: get deploy web, want %s:\n%s", i+1, want, out)
		}
	}
	if out := getOut(t, "hpacpu", "get", "hpa"); !regexp.MustCompile(`(?m)^web +Deployment/web +cpu: [0-9]+%/50% +1 +3 +3 `).MatchString(out) {
		t.Errorf("get hpa:\n%s", out)
	}
}
