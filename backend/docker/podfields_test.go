package docker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker"
	"kgit.dev/kgit/backend/docker/dockertest"
	"kgit.dev/kgit/manifest"
)

// engineWithApp is the engine with the test app's image, and the app's pods removed
// when the test ends.
func engineWithApp(t *testing.T, app string) (*docker.Backend, string) {
	b := dockertest.Engine(t)
	dockertest.CleanupEngine(t, b, app)
	return b, dockertest.BuildTestImages(t, b, "v1")
}

// podfields creates one pod of the test app on b (args for its container, shaped by
// edit) and returns it.
func podfields(t *testing.T, b *docker.Backend, app, repo, name string, edit func(*manifest.PodSpec)) *backend.Pod {
	t.Helper()
	grace := int64(0)
	spec := manifest.PodSpec{TerminationGracePeriodSeconds: &grace, RestartPolicy: "Always",
		Containers: []manifest.Container{{Name: "main", Image: repo + ":v1", Args: []string{"sleep"}}}}
	edit(&spec)
	manifest.DefaultPodSpec(&spec)
	p, err := b.CreatePod(context.Background(), backend.PodSpec{Name: name, Namespace: "default", Spec: spec,
		Labels: map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: app}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// until lists the app's pod named name (tending it, as the controllers do) until cond
// holds, or fails after 60 s.
func until(t *testing.T, b *docker.Backend, app, name, what string, cond func(*backend.Pod) bool) *backend.Pod {
	t.Helper()
	ctx := context.Background()
	var last *backend.Pod
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		pods, err := b.ListPods(ctx, map[string]string{backend.LabelApp: app, "kgit.dev/pod": name})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			if p.Name != name {
				continue
			}
			last = p
			if cond(p) {
				return p
			}
			if err := b.Tend(ctx, p); err != nil {
				t.Logf("tend: %v", err)
			}
		}
	}
	t.Fatalf("pod %s never %s: %+v", name, what, last)
	return nil
}

// execIn runs a command in the pod's container and returns its exit code and output.
func execIn(t *testing.T, b *docker.Backend, p *backend.Pod, cmd ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code, err := b.Exec(context.Background(), p, "main", backend.ExecOptions{Command: cmd, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// TestLifecycleHooks: a postStart hook gates the container (not running, the pod not
// ready, until it succeeds), and a preStop hook runs before the termination signal.
func TestLifecycleHooks(t *testing.T) {
	const app = "kgit-hooks"
	b, repo := engineWithApp(t, app)
	shared := t.TempDir()
	p := podfields(t, b, app, repo, "hooked", func(s *manifest.PodSpec) {
		grace := int64(10)
		s.TerminationGracePeriodSeconds = &grace
		s.Volumes = []manifest.Volume{{Name: "shared", HostPath: &manifest.HostPathVolumeSource{Path: shared}}}
		c := &s.Containers[0]
		c.VolumeMounts = []manifest.VolumeMount{{Name: "shared", MountPath: "/shared"}}
		c.Env = []manifest.EnvVar{{Name: "TERM_FILE", Value: "/shared/order"}}
		c.Lifecycle = &manifest.Lifecycle{
			PostStart: &manifest.LifecycleHandler{Exec: &manifest.ExecAction{Command: []string{"/testapp", "wait-file", "/shared/go"}}},
			PreStop:   &manifest.LifecycleHandler{Exec: &manifest.ExecAction{Command: []string{"/testapp", "write", "/shared/order", "prestop"}}},
		}
	})
	// Until the hook is released, every listing shows the container waiting.
	for range 10 {
		pods, err := b.ListPods(context.Background(), map[string]string{backend.LabelApp: app})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			if c := p.Status.Containers[0]; p.Status.Ready || c.State == backend.StateRunning {
				t.Fatalf("running before its postStart hook ended: %+v", p.Status)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(shared, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p = until(t, b, app, "hooked", "ready after its postStart hook", func(p *backend.Pod) bool { return p.Status.Ready })
	if err := b.DeletePod(context.Background(), p.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(shared, "order")); string(got) != "prestop\nsigterm\n" {
		t.Fatalf("order of preStop and SIGTERM: %q", got)
	}
}

// TestFailedPostStart: a postStart hook that fails kills the container, and says so.
func TestFailedPostStart(t *testing.T) {
	const app = "kgit-badhook"
	b, repo := engineWithApp(t, app)
	podfields(t, b, app, repo, "badhook", func(s *manifest.PodSpec) {
		s.RestartPolicy = "Never"
		s.Containers[0].Args = []string{"ignore-term"} // killed at the end of the grace period: a failure
		s.Containers[0].Lifecycle = &manifest.Lifecycle{PostStart: &manifest.LifecycleHandler{Exec: &manifest.ExecAction{Command: []string{"/testapp", "exit", "3"}}}}
	})
	seen := false
	until(t, b, app, "badhook", "killed", func(p *backend.Pod) bool {
		seen = seen || strings.HasPrefix(p.Status.Containers[0].Message, backend.PostStartHookError)
		return seen && p.Status.Phase == backend.PodFailed
	})
}

// TestGRPCProbe: a grpc readiness probe through the engine's published port: ready while
// the health service is SERVING, not while it is NOT_SERVING.
func TestGRPCProbe(t *testing.T) {
	const app = "kgit-grpc"
	b, repo := engineWithApp(t, app)
	p := podfields(t, b, app, repo, "grpc", func(s *manifest.PodSpec) {
		c := &s.Containers[0]
		c.Args = []string{"serve"}
		c.Env = []manifest.EnvVar{{Name: "UNHEALTHY", Value: "/unhealthy"}}
		c.ReadinessProbe = &manifest.Probe{GRPC: &manifest.GRPCAction{Port: 8080}, PeriodSeconds: 1, FailureThreshold: 1}
	})
	p = until(t, b, app, "grpc", "ready", func(p *backend.Pod) bool { return p.Status.Ready })
	if code, out := execIn(t, b, p, "/testapp", "write", "/unhealthy", "x"); code != 0 {
		t.Fatalf("write /unhealthy: %d %s", code, out)
	}
	until(t, b, app, "grpc", "unready", func(p *backend.Pod) bool {
		return !p.Status.Ready && p.Status.Containers[0].Message == `Readiness probe failed: service unhealthy (responded with "NOT_SERVING")`
	})
}

// TestMemoryLimit: a container that allocates past limits.memory is killed by the
// kernel at the limit, and its status says OOMKilled, as kubectl shows it, whenever the
// engine knows it was an OOM kill. Engines do not always know: Docker 20.10 on cgroup v1
// here missed one in a CI run under load (moby#38352 and nomad#13119 are the same race),
// and Podman 4.3 never reports it. kgit reports the engine's verdict, so the test holds
// kgit's status to the engine's own State.OOMKilled, read after kgit saw the pod fail.
func TestMemoryLimit(t *testing.T) {
	const app = "kgit-oom"
	b, repo := engineWithApp(t, app)
	podfields(t, b, app, repo, "oom", func(s *manifest.PodSpec) {
		s.RestartPolicy = "Never"
		s.Containers[0].Args = []string{"alloc", "256"}
		s.Containers[0].Resources = json.RawMessage(`{"limits":{"memory":"32Mi"}}`)
	})
	until(t, b, app, "oom", "killed", func(p *backend.Pod) bool { return p.Status.Phase == backend.PodFailed })
	ins, err := dockertest.Client(b).ContainerInspect(context.Background(), "kgit-default-oom-main", client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := ins.Container.HostConfig.Memory; m != 32<<20 {
		t.Fatalf("the engine's memory limit is %d, want %d", m, 32<<20)
	}
	want := "OOMKilled"
	if !ins.Container.State.OOMKilled {
		want = "Error"
		t.Logf("the engine did not report the OOM kill (State %+v): kgit must say Error", ins.Container.State)
	}
	// the engine's flag only ever turns true, so kgit's next read agrees with the one above
	p := until(t, b, app, "oom", "reported as the engine has it", func(p *backend.Pod) bool {
		c := p.Status.Containers[0]
		return c.State == backend.StateTerminated && c.Reason == want
	})
	if c := p.Status.Containers[0]; c.ExitCode != 137 {
		t.Fatalf("container %+v, want terminated %s with 137", c, want)
	}
}

// TestSecurityAndResources: the engine gets the container's resources and security
// context; a read-only root filesystem refuses a write, the process runs as runAsUser
// and runAsGroup; runAsNonRoot with an image that runs as root is refused.
func TestSecurityAndResources(t *testing.T) {
	const app = "kgit-security"
	b, repo := engineWithApp(t, app)
	p := podfields(t, b, app, repo, "locked", func(s *manifest.PodSpec) {
		s.SecurityContext = json.RawMessage(`{"runAsUser":1234,"fsGroup":2000}`)
		s.Containers[0].SecurityContext = json.RawMessage(`{"runAsGroup":4321,"readOnlyRootFilesystem":true,
			"allowPrivilegeEscalation":false,"capabilities":{"drop":["NET_RAW"]}}`)
		s.Containers[0].Resources = json.RawMessage(`{"limits":{"cpu":"500m","memory":"64Mi"},"requests":{"cpu":"250m","memory":"32Mi"}}`)
	})
	p = until(t, b, app, "locked", "ready", func(p *backend.Pod) bool { return p.Status.Ready })
	if code, out := execIn(t, b, p, "/testapp", "write", "/x", "y"); code == 0 || !strings.Contains(out, "read-only file system") {
		t.Errorf("a write to the read-only root: exit %d, %q", code, out)
	}
	if _, out := execIn(t, b, p, "/testapp", "id"); strings.TrimSpace(out) != "1234:4321" {
		t.Errorf("runs as %q, want 1234:4321", out)
	}
	ins, err := dockertest.Client(b).ContainerInspect(context.Background(), "kgit-default-locked-main", client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := ins.Container.HostConfig
	if h.Memory != 64<<20 || h.MemoryReservation != 32<<20 || h.NanoCPUs != 500_000_000 || h.CPUShares != 256 ||
		!h.ReadonlyRootfs || !slices.ContainsFunc(h.CapDrop, func(c string) bool { return strings.TrimPrefix(c, "CAP_") == "NET_RAW" }) || !slices.Contains(h.SecurityOpt, "no-new-privileges") ||
		!slices.Contains(h.GroupAdd, "2000") {
		t.Errorf("host config: memory %d reservation %d nanoCPUs %d shares %d readOnly %v capDrop %v securityOpt %v groupAdd %v",
			h.Memory, h.MemoryReservation, h.NanoCPUs, h.CPUShares, h.ReadonlyRootfs, h.CapDrop, h.SecurityOpt, h.GroupAdd)
	}
	grace := int64(0)
	spec := manifest.PodSpec{TerminationGracePeriodSeconds: &grace, SecurityContext: json.RawMessage(`{"runAsNonRoot":true}`),
		Containers: []manifest.Container{{Name: "main", Image: repo + ":v1", Args: []string{"sleep"}}}}
	manifest.DefaultPodSpec(&spec)
	_, err = b.CreatePod(context.Background(), backend.PodSpec{Name: "rooted", Namespace: "default", Spec: spec,
		Labels: map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: app}})
	if err == nil || !strings.Contains(err.Error(), "container has runAsNonRoot and image will run as root") {
		t.Errorf("runAsNonRoot with a root image: %v", err)
	}
}
