// Package dockertest helps tests use the docker engine of the machine: it skips or fails
// (KGIT_REQUIRE_DOCKER=1) without one, builds the test app's images, and cleans up.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/moby/moby/client"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/backend/docker"
)

// Engine returns a docker backend on the engine of this machine (DOCKER_HOST). Without
// an engine the test is skipped, unless KGIT_REQUIRE_DOCKER=1 (set by .ci/run), which
// fails it. With KGIT_REQUIRE_PODMAN=1 (.ci/run's Podman run) an engine that is not
// Podman fails it too: that run must not pass on Docker by mistake.
func Engine(t testing.TB) *docker.Backend {
	t.Helper()
	b, err := docker.New(io.Discard)
	if err == nil {
		err = b.Available(context.Background())
	}
	if err != nil {
		if os.Getenv("KGIT_REQUIRE_DOCKER") == "1" || os.Getenv("KGIT_REQUIRE_PODMAN") == "1" {
			t.Fatalf("KGIT_REQUIRE_DOCKER=1 but %v", err)
		}
		t.Skipf("no docker engine: %v", err)
	}
	if os.Getenv("KGIT_REQUIRE_PODMAN") == "1" && !b.Podman(context.Background()) {
		t.Fatalf("KGIT_REQUIRE_PODMAN=1 but the engine at %s is not Podman", b.Host())
	}
	return b
}

// Client is a client of b's engine from moby's module, for what tests ask of an engine
// that kgit does not (building images, cleaning up); kgit's own is package engine.
func Client(b *docker.Backend) *client.Client {
	cli, err := client.New(client.WithHost(b.Host()), client.WithUserAgent("kgit-test"))
	if err != nil {
		panic(err) // b.Host() is an address b already reached
	}
	return cli
}

// Podman returns the docker backend on Podman's socket as `--backend podman` finds it
// (DOCKER_HOST is not read). Without Podman the test is skipped, unless
// KGIT_REQUIRE_PODMAN=1, which fails it.
func Podman(t testing.TB) *docker.Backend {
	t.Helper()
	b, err := docker.NewPodman(context.Background(), io.Discard)
	if err == nil && !b.Podman(context.Background()) {
		err = fmt.Errorf("the engine at %s is not Podman", b.Host())
	}
	if err != nil {
		if os.Getenv("KGIT_REQUIRE_PODMAN") == "1" {
			t.Fatalf("KGIT_REQUIRE_PODMAN=1 but %v", err)
		}
		t.Skipf("no podman: %v", err)
	}
	return b
}

// BuildTestImages builds the test app into FROM scratch images tagged REPO:VERSION for
// each version (no registry is needed), and removes them when the test ends. REPO is
// returned: it is unique to the test, so tests of several packages running at once on
// one engine never remove each other's images.
func BuildTestImages(t testing.TB, b *docker.Backend, versions ...string) string {
	t.Helper()
	bin, err := os.ReadFile(backendtest.BuildTestApp(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	repo := fmt.Sprintf("kgit-test-%d/app", rand.Int64())
	for _, v := range versions {
		dockerfile := fmt.Sprintf("FROM scratch\nCOPY testapp /testapp\nENV VERSION=%s\nENTRYPOINT [\"/testapp\"]\nCMD [\"serve\"]\n", v)
		BuildImage(t, b, repo+":"+v, map[string][]byte{"Dockerfile": []byte(dockerfile), "testapp": bin})
	}
	return repo
}

// BuildImage builds an image tagged tag from a build context of files (a Dockerfile
// among them) on the engine, and removes it when the test ends.
func BuildImage(t testing.TB, b *docker.Backend, tag string, files map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	ctx := context.Background()
	res, err := Client(b).ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("build %s: %v", tag, err)
		}
		if msg.Error != "" {
			t.Fatalf("build %s: %s", tag, msg.Error)
		}
	}
	res.Body.Close()
	t.Cleanup(func() {
		_, _ = Client(b).ImageRemove(context.Background(), tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
}

// CleanupEngine removes, when the test ends, whether it passed or not, every container
// and volume of the given apps. Other apps on the engine are left alone.
func CleanupEngine(t testing.TB, b *docker.Backend, apps ...string) {
	t.Cleanup(func() {
		ctx := context.Background()
		for _, app := range apps {
			routes, _ := b.Routes(ctx, map[string]string{backend.LabelApp: app})
			for _, r := range routes {
				_ = b.Unroute(ctx, r.Namespace, r.Name)
			}
			f := make(client.Filters).Add("label", backend.LabelApp+"="+app)
			if res, err := Client(b).ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
				for _, c := range res.Items {
					_, _ = Client(b).ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
				}
			}
			for _, vf := range []client.Filters{f, make(client.Filters).Add("name", "kgit-lock-"+app)} {
				if res, err := Client(b).VolumeList(ctx, client.VolumeListOptions{Filters: vf}); err == nil {
					for _, v := range res.Items {
						_, _ = Client(b).VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
					}
				}
			}
		}
		// kgit's network is shared with other tests that may run at this moment; it is
		// left for .ci/run to remove at the end (and a backend re-creates it if needed).
	})
}
