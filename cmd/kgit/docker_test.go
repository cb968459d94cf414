package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker/dockertest"
	"kgit.dev/kgit/cmd/kgit/cli"
)

// TestDockerEndToEnd drives the docker backend through the CLI on the real engine: a
// sync, a rolling update gated on an HTTP readiness probe, logs, an image that cannot
// be found (the old pods stay up), the lock on the engine, and down.
func TestDockerEndToEnd(t *testing.T) {
	b := dockertest.Engine(t)
	dockertest.CleanupEngine(t, b, "roll")
	repo := dockertest.BuildTestImages(t, b, "v1", "v2")
	e := newRolloutEnvB(t)
	t.Setenv("KGIT_BACKEND", "docker")
	write := func(image, policy string) {
		y := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  progressDeadlineSeconds: 20
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: %s
        imagePullPolicy: %s
        args: [serve]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
`, image, policy)
		if err := os.WriteFile(filepath.Join(e.repo, "web.yaml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", "web.yaml")
		e.git("commit", "-qm", image)
	}
	images := func() map[string]int {
		pods, err := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "roll"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, p := range pods {
			if p.Status.Ready {
				out[p.Spec.Containers[0].Image]++
			}
		}
		return out
	}

	write(repo+":v1", "IfNotPresent")
	if code, errs := e.kgit("sync"); code != 0 {
		t.Fatalf("sync v1: exit %d\n%s", code, errs)
	}
	if got := images(); got[repo+":v1"] != 3 {
		t.Fatalf("ready pods after sync v1: %v", got)
	}
	write(repo+":v2", "IfNotPresent")
	if code, errs := e.kgit("sync"); code != 0 {
		t.Fatalf("sync v2: exit %d\n%s", code, errs)
	}
	if got := images(); got[repo+":v2"] != 3 || len(got) != 1 {
		t.Fatalf("ready pods after the rolling update: %v", got)
	}
	pods, _ := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "roll"})
	var out strings.Builder
	code := runCLI(&out, "logs", pods[0].Name, "--app", "roll")
	if code != 0 || !strings.Contains(out.String(), "hello from "+pods[0].Name+" version v2") {
		t.Errorf("logs: exit %d: %q", code, out.String())
	}

	// scale and rollout undo, as on the process backend
	if code, errs := e.kgit("scale", "deploy/web", "--replicas", "2"); code != 0 {
		t.Fatalf("scale: exit %d\n%s", code, errs)
	}
	if got := images(); got[repo+":v2"] != 2 {
		t.Errorf("ready pods after scale to 2: %v", got)
	}
	if code, errs := e.kgit("rollout", "undo", "deploy/web"); code != 0 {
		t.Fatalf("rollout undo: exit %d\n%s", code, errs)
	}
	if got := images(); got[repo+":v1"] != 2 || len(got) != 1 {
		t.Errorf("ready pods after undo: %v, want 2 of v1", got)
	}
	if code, errs := e.kgit("sync", "--force"); code != 0 {
		t.Fatalf("sync --force: exit %d\n%s", code, errs)
	}
	if got := images(); got[repo+":v2"] != 3 || len(got) != 1 {
		t.Errorf("ready pods after sync --force: %v, want git's 3 of v2", got)
	}

	// A container killed behind kgit's back (the engine never restarts those) is started
	// again by the next sync, as the kubelet would restart it.
	pods, _ = b.ListPods(context.Background(), map[string]string{backend.LabelApp: "roll"})
	killed := "kgit-" + pods[0].Namespace + "-" + pods[0].Name + "-main"
	if _, err := dockertest.Client(b).ContainerKill(context.Background(), killed, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatal(err)
	}
	if got := images(); got[repo+":v2"] != 2 {
		t.Fatalf("ready pods after docker kill: %v, want 2 of v2", got)
	}
	if code, errs := e.kgit("sync", "--timeout", "60s"); code != 0 {
		t.Fatalf("sync after docker kill: exit %d\n%s", code, errs)
	}
	if got := images(); got[repo+":v2"] != 3 || len(got) != 1 {
		t.Errorf("ready pods after the sync that follows docker kill: %v, want 3 of v2", got)
	}

	// A bare Pod changed in git is replaced (pods are immutable): the old one is gone
	// before the new one of the same name is created.
	barePod := func(image string) {
		y := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: solo, labels: {app: solo}}\nspec:\n  terminationGracePeriodSeconds: 2\n  containers: [{name: main, image: %s, args: [serve]}]\n", image)
		if err := os.WriteFile(filepath.Join(e.repo, "solo.yaml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", "solo.yaml")
		e.git("commit", "-qm", "solo "+image)
	}
	for _, v := range []string{"v1", "v2"} {
		barePod(repo + ":" + v)
		if code, errs := e.kgit("sync", "--timeout", "60s"); code != 0 {
			t.Fatalf("sync of the bare pod at %s: exit %d\n%s", v, code, errs)
		}
		solo, _ := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "roll", "app": "solo"})
		if len(solo) != 1 || solo[0].Spec.Containers[0].Image != repo+":"+v || !solo[0].Status.Ready {
			t.Fatalf("bare pod after sync of %s: %d pods, want one ready of %s", v, len(solo), v)
		}
	}
	e.git("rm", "-q", "solo.yaml")
	e.git("commit", "-qm", "no solo")
	if code, errs := e.kgit("sync", "--timeout", "60s"); code != 0 {
		t.Fatalf("sync pruning the bare pod: exit %d\n%s", code, errs)
	}

	// An image that is not there fails the sync, naming it; the running version stays.
	write(repo+":v404", "Never")
	code, errs := e.kgit("sync", "--timeout", "60s")
	if code == 0 || !strings.Contains(errs, `image "`+repo+`:v404" is not present`) {
		t.Errorf("sync of a missing image: exit %d, want a failure naming the image:\n%s", code, errs)
	}
	if got := images(); got[repo+":v2"] != 3 {
		t.Errorf("ready pods after the failed sync: %v, want the 3 v2 pods kept", got)
	}

	// The lock lives on the engine: a holder from "another machine" keeps kgit out.
	release, err := b.Lock(context.Background(), "roll", 0)
	if err != nil {
		t.Fatal(err)
	}
	if code, errs := e.kgit("sync"); code != 5 || !strings.Contains(errs, "holds the lock") {
		t.Errorf("sync while the engine lock is held: exit %d, want 5\n%s", code, errs)
	}
	release()

	// Host access is refused unless allowed, and granted when it is.
	write(repo+":v2", "IfNotPresent")
	hostDir := t.TempDir()
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: hosty}
spec:
  hostNetwork: true
  volumes: [{name: data, hostPath: {path: %s}}]
  containers:
  - name: main
    image: %s:v1
    args: [sleep]
    volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
`, hostDir, repo)
	if err := os.WriteFile(filepath.Join(e.repo, "hosty.yaml"), []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("add", "hosty.yaml")
	e.git("commit", "-qm", "host access")
	code, errs = e.kgit("sync")
	if code != 3 || !strings.Contains(errs, "hosty.yaml:5: spec.hostNetwork: Forbidden") || !strings.Contains(errs, "spec.volumes[0].hostPath: Forbidden") {
		t.Errorf("sync of a pod asking for host access: exit %d, want 3 naming the fields:\n%s", code, errs)
	}
	if code, errs := e.kgit("sync", "--allow-host-access", "--timeout", "60s"); code != 0 {
		t.Errorf("sync --allow-host-access: exit %d\n%s", code, errs)
	}
	hp, _ := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "roll", "kgit.dev/pod": "hosty"})
	if len(hp) != 1 {
		t.Fatalf("host pod not created: %d pods", len(hp))
	}
	ins, err := dockertest.Client(b).ContainerInspect(context.Background(), "kgit-default-hosty-main", client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Podman adds the mount's propagation: ":ro,rprivate,rbind"
	if hc := ins.Container.HostConfig; hc.NetworkMode != "host" || len(hc.Binds) != 1 || strings.Split(hc.Binds[0], ",")[0] != hostDir+":/data:ro" {
		t.Errorf("host pod's container: network %q binds %v", hc.NetworkMode, hc.Binds)
	}

	if code, errs := e.kgit("down"); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, errs)
	}
	if got := images(); len(got) != 0 {
		t.Errorf("pods left after down: %v", got)
	}
}

func runCLI(out *strings.Builder, args ...string) int {
	var errb strings.Builder
	return cli.Main(args, out, &errb)
}

// TestDockerPodmanBackend: `--backend podman` (here KGIT_BACKEND=podman) finds Podman's
// socket itself, with DOCKER_HOST pointing nowhere: a sync, a NodePort Service whose
// proxy talks to Podman too, get and down.
func TestDockerPodmanBackend(t *testing.T) {
	b := dockertest.Podman(t)
	dockertest.CleanupEngine(t, b, "podman")
	repo := dockertest.BuildTestImages(t, b, "v1")
	e := newRolloutEnvB(t)
	e.app = "podman"
	t.Setenv("KGIT_BACKEND", "podman")
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	// the Service and the Deployment of TestDockerKinds, on a node port of its own
	y := strings.NewReplacer("__IMAGE__", repo+":v1", "__VERSION__", "v1", "30081", "30085").
		Replace(strings.SplitN(dockerKindsYAML, "---\napiVersion: apps/v1\nkind: StatefulSet", 2)[0])
	if err := os.WriteFile(filepath.Join(e.repo, "web.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("add", "web.yaml")
	e.git("commit", "-qm", "web")
	if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
		t.Fatalf("sync --backend podman: exit %d\n%s", code, errs)
	}
	if got, err := getSoon("http://127.0.0.1:30085/version"); err != nil || got != "v1" {
		t.Errorf("GET through the NodePort: %q, %v", got, err)
	}
	var out strings.Builder
	if code := runCLI(&out, "get", "pods", "--app", "podman"); code != 0 || strings.Count(out.String(), "Running") != 2 {
		t.Errorf("get pods --backend podman: exit %d\n%s", code, out.String())
	}
	if code, errs := e.kgit("down"); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, errs)
	}
	if pods, _ := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "podman"}); len(pods) != 0 {
		t.Errorf("%d pods left on Podman after down", len(pods))
	}
}
