package docker_test

import (
	"bytes"
	"context"
	"io"
	"testing"

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
		RunsProcesses: true,
		Timeout:       60 * 1e9,
		App:           "kgit-conformance",
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
