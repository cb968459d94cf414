package docker_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/backend/docker"
	"kgit.dev/kgit/backend/docker/dockertest"
	"kgit.dev/kgit/manifest"
)

func TestConformance(t *testing.T) {
	b := dockertest.Engine(t)
	dockertest.CleanupEngine(t, b, "kgit-conformance")
	repo := dockertest.BuildTestImages(t, b, "v1")
	backendtest.Run(t, backendtest.Harness{
		New: func(t *testing.T) backend.Backend {
			nb, err := docker.New(io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			return nb
		},
		Container: func(args ...string) manifest.Container {
			return manifest.Container{Image: repo + ":v1", Args: args}
		},
		Exec:          func(args ...string) []string { return append([]string{"/testapp"}, args...) },
		RunsProcesses: true,
		Timeout:       60 * 1e9,
		App:           "kgit-conformance",
		// the proxy is kgit's own binary: cmd/kgit's docker tests route Services
		RoutesElsewhere: true,
		StopBehindBack: func(t *testing.T, p *backend.Pod) {
			// as `docker stop` does: the engine will not restart it on its own
			name := "kgit-" + p.Namespace + "-" + p.Name + "-" + p.Spec.Containers[0].Name
			timeout := 1
			if _, err := dockertest.Client(b).ContainerStop(context.Background(), name, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestImagePullPolicy(t *testing.T) {
	b := dockertest.Engine(t)
	ctx := context.Background()
	for _, tc := range []struct{ image, policy, want string }{
		{"kgit-test/missing:v9", "Never", `image "kgit-test/missing:v9" is not present and imagePullPolicy is Never`},
		{"127.0.0.1:1/kgit-test/missing:v9", "IfNotPresent", `image "127.0.0.1:1/kgit-test/missing:v9" could not be pulled`},
	} {
		c := manifest.Container{Name: "main", Image: tc.image, ImagePullPolicy: tc.policy}
		_, err := b.CreatePod(ctx, backend.PodSpec{Name: "pull", Namespace: "default", Spec: manifest.PodSpec{Containers: []manifest.Container{c}}})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s with %s: %v, want %q", tc.image, tc.policy, err, tc.want)
		}
	}
}

// TestVolumesLabelled: the engine volumes of a pod's emptyDir and claim carry kgit's
// labels (Podman leaves them out of a volume it creates for a mount), so the emptyDir
// goes with its pod and the claim is found as the app's; the claim stays.
func TestVolumesLabelled(t *testing.T) {
	b := dockertest.Engine(t)
	const app = "kgit-volumes"
	dockertest.CleanupEngine(t, b, app)
	repo := dockertest.BuildTestImages(t, b, "v1")
	ctx := context.Background()
	grace := int64(0)
	spec := manifest.PodSpec{TerminationGracePeriodSeconds: &grace, RestartPolicy: "Always",
		Volumes: []manifest.Volume{{Name: "scratch", EmptyDir: &manifest.EmptyDirVolumeSource{}},
			{Name: "data", PersistentVolumeClaim: &manifest.ClaimVolumeSource{ClaimName: "vol-data"}}},
		Containers: []manifest.Container{{Name: "main", Image: repo + ":v1", Args: []string{"sleep"},
			VolumeMounts: []manifest.VolumeMount{{Name: "scratch", MountPath: "/scratch"}, {Name: "data", MountPath: "/data"}}}}}
	manifest.DefaultPodSpec(&spec)
	p, err := b.CreatePod(ctx, backend.PodSpec{Name: "vols", Namespace: "default", Spec: spec,
		Labels: map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: app}})
	if err != nil {
		t.Fatal(err)
	}
	volumes := func() map[string]map[string]string {
		res, err := dockertest.Client(b).VolumeList(ctx, client.VolumeListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]string{}
		for _, v := range res.Items {
			if v.Labels["kgit.dev/pod-uid"] == p.UID || v.Name == docker.ClaimVolume("default", "vol-data") {
				out[v.Name] = v.Labels
			}
		}
		return out
	}
	got := volumes()
	claim := got[docker.ClaimVolume("default", "vol-data")]
	if claim[backend.LabelApp] != app || claim["kgit.dev/claim"] != "vol-data" || claim[backend.LabelManagedBy] != backend.ManagedBy {
		t.Errorf("the claim's volume has labels %v, want the app's and the claim's", claim)
	}
	if len(got) != 2 {
		t.Errorf("volumes of the pod: %v, want its emptyDir (labelled with the pod) and its claim", got)
	}
	if err := b.DeletePod(ctx, p.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got := volumes(); len(got) != 1 || got[docker.ClaimVolume("default", "vol-data")] == nil {
		t.Errorf("volumes after the pod's deletion: %v, want only the claim's", got)
	}
}

// TestPodman: `--backend podman` finds Podman's socket without DOCKER_HOST, and names
// itself podman.
func TestPodman(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	b := dockertest.Podman(t)
	if err := b.Available(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.Name() != docker.PodmanName {
		t.Errorf("Name() = %q, want %q", b.Name(), docker.PodmanName)
	}
}

// TestExecProbes: exec probes run through the engine: a readiness command that succeeds
// makes the pod ready, one that fails keeps it unready with the command's exit code,
// and a failing liveness command has Tend restart the container (started again).
func TestExecProbes(t *testing.T) {
	b := dockertest.Engine(t)
	const app = "kgit-exec"
	dockertest.CleanupEngine(t, b, app)
	repo := dockertest.BuildTestImages(t, b, "v1")
	ctx := context.Background()
	probe := func(code string) *manifest.Probe {
		return &manifest.Probe{Exec: &manifest.ExecAction{Command: []string{"/testapp", "exit", code}}, PeriodSeconds: 1}
	}
	pods := map[string]manifest.Container{
		"ready":   {ReadinessProbe: probe("0")},
		"unready": {ReadinessProbe: probe("3")},
		"unlive":  {LivenessProbe: probe("1")},
	}
	for name, c := range pods {
		c.Name, c.Image, c.Args = "main", repo+":v1", []string{"sleep"}
		grace := int64(0)
		spec := manifest.PodSpec{TerminationGracePeriodSeconds: &grace, Containers: []manifest.Container{c}}
		manifest.DefaultPodSpec(&spec)
		if _, err := b.CreatePod(ctx, backend.PodSpec{Name: name, Namespace: "default", Spec: spec,
			Labels: map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: app}}); err != nil {
			t.Fatal(err)
		}
	}
	var ready, unready bool
	restarted := false
	var firstStart time.Time // the engine's restart count leaves out restarts asked through the API
	var last []*backend.Pod
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !(ready && unready && restarted); time.Sleep(300 * time.Millisecond) {
		var err error
		if last, err = b.ListPods(ctx, map[string]string{backend.LabelApp: app}); err != nil {
			t.Fatal(err)
		}
		for _, p := range last {
			c := p.Status.Containers[0]
			switch p.Name {
			case "ready":
				ready = p.Status.Ready
			case "unready":
				unready = c.State == backend.StateRunning && !c.Ready && strings.Contains(c.Message, "exited with 3")
			case "unlive":
				if firstStart.IsZero() {
					firstStart = c.StartedAt
				}
				restarted = restarted || c.StartedAt.After(firstStart)
				if err := b.Tend(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if !ready || !unready || !restarted {
		for _, p := range last {
			t.Logf("%s: %+v", p.Name, p.Status)
		}
		t.Errorf("ready by exec: %v, unready by exec (exit 3): %v, restarted by a failed exec liveness probe: %v", ready, unready, restarted)
	}
}
