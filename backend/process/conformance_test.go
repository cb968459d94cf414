package process

import (
	"os"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/manifest"
)

func TestConformance(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	app := backendtest.BuildTestApp(t, t.TempDir())
	root := t.TempDir()
	backendtest.Run(t, backendtest.Harness{
		New: func(*testing.T) backend.Backend { return New(root, exe) },
		Container: func(args ...string) manifest.Container {
			if args[0] == "serve" {
				args = append(args, "$(POD_IP):8080") // pods share the host's ports: each serves on its own address
			}
			return manifest.Container{Image: "testapp", Command: append([]string{app}, args...)}
		},
		RunsProcesses: true,
	})
}
