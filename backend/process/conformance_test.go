//go:build linux

package process

import (
	"os"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/manifest"
)

// TestConformance runs the suite with both supervisor programs: kgit-supervisor, and a
// kgit binary's own hidden mode (this test binary's, which enters it the same way).
func TestConformance(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	app := backendtest.BuildTestApp(t, bin)
	small := backendtest.Build(t, bin, "cmd/"+SupervisorName)
	for name, supervisor := range map[string]string{SupervisorName: small, "kgit": self} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(SupervisorEnv, supervisor)
			root := t.TempDir()
			backendtest.Run(t, backendtest.Harness{
				New: func(*testing.T) backend.Backend { return New(root, self) },
				Container: func(args ...string) manifest.Container {
					if args[0] == "serve" {
						args = append(args, "$(POD_IP):8080") // pods share the host's ports: each serves on its own address
					}
					return manifest.Container{Image: "testapp", Command: append([]string{app}, args...)}
				},
				Exec:          func(args ...string) []string { return append([]string{app}, args...) },
				RunsProcesses: true,
			})
		})
	}
}
