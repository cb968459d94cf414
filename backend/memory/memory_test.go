package memory

import (
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/manifest"
)

func TestConformance(t *testing.T) {
	b := New()
	backendtest.Run(t, backendtest.Harness{
		New:       func(*testing.T) backend.Backend { return b },
		Container: func(args ...string) manifest.Container { return manifest.Container{Image: "testapp", Command: args} },
	})
}
