package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/backend/docker/dockertest"
	"kgit.dev/kgit/cmd/kgit/cli"
	"kgit.dev/kgit/internal/clustertest"
)

// TestShopOnThreeTargets runs examples/shop (a Kustomize base with overlays) unchanged,
// with the same commands, on the process backend, on the docker engine and on a real
// Kubernetes control plane (kwok as its node): sync, get, diff with no difference, a
// change of replicas in git, and down. On a cluster the cluster's controllers roll.
func TestShopOnThreeTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pods and a control plane")
	}
	appDir := t.TempDir() // testapp on the PATH, as the example's README section says
	app := backendtest.BuildTestApp(t, appDir)
	t.Setenv("PATH", appDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, target := range []string{"process", "docker", "kubernetes"} {
		t.Run(target, func(t *testing.T) {
			e := newRolloutEnvB(t)
			e.app = "shop"
			copyTree(t, "../../examples/shop", e.repo)
			e.git("add", ".")
			e.git("commit", "-qm", "shop")
			t.Setenv("KGIT_BACKEND", target)
			switch target {
			case "docker":
				b := dockertest.Engine(t)
				dockertest.CleanupEngine(t, b, "shop")
				bin, err := os.ReadFile(app)
				if err != nil {
					t.Fatal(err)
				}
				dockerfile, err := os.ReadFile("../../examples/shop/Dockerfile")
				if err != nil {
					t.Fatal(err)
				}
				dockertest.BuildImage(t, b, "kgit-example/testapp:1", map[string][]byte{"Dockerfile": dockerfile, "testapp": bin})
			case "kubernetes":
				t.Setenv("KUBECONFIG", clustertest.Start(t))
			}
			run := func(want int, args ...string) string {
				t.Helper()
				var out, errb bytes.Buffer
				code := cli.Main(append(args, "--repo", e.repo, "--app", "shop", "--path", "examples/shop/overlays/dev"), &out, &errb)
				if code != want {
					t.Fatalf("kgit %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out.String(), errb.String())
				}
				return out.String()
			}
			run(0, "sync", "--timeout", "120s")
			if out := run(0, "get", "deploy", "dev-web"); !strings.Contains(out, "2/2") {
				t.Errorf("get deploy after sync:\n%s", out)
			}
			run(0, "diff")
			if out := run(0, "rollout", "status", "deploy/dev-web", "--watch=false"); !strings.Contains(out, `deployment "dev-web" successfully rolled out`) {
				t.Errorf("rollout status after sync:\n%s", out)
			}
			if out := run(0, "events"); !strings.Contains(out, "dev-web") {
				t.Errorf("events after sync name no dev-web:\n%s", out)
			}
			if err := os.WriteFile(filepath.Join(e.repo, "examples/shop/overlays/dev/kustomization.yaml"),
				[]byte("namePrefix: dev-\nlabels: [{pairs: {env: dev}}]\nresources: [../../base]\nreplicas: [{name: web, count: 3}]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			e.git("commit", "-qam", "three")
			run(1, "diff")
			run(0, "sync", "--timeout", "120s")
			if out := run(0, "get", "deploy", "dev-web"); !strings.Contains(out, "3/3") {
				t.Errorf("get deploy after scaling in git:\n%s", out)
			}
			run(0, "down")
		})
	}
}

// copyTree copies the folder src to dst/src's path below the repository's root.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "testapp" {
			return err
		}
		rel, _ := filepath.Rel("../..", p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
