package docker

import (
	"net"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker/engine"
	"kgit.dev/kgit/manifest"
)

// TestTenderProgram: the small tender links no TLS, so an app whose probes or hooks
// speak HTTPS, or an engine that speaks TLS, gets kgit's own binary as its tender.
func TestTenderProgram(t *testing.T) {
	plain := func(scheme string) *backend.PodSpec {
		return &backend.PodSpec{Spec: manifest.PodSpec{Containers: []manifest.Container{{Name: "main",
			ReadinessProbe: &manifest.Probe{HTTPGet: &manifest.HTTPGetAction{Path: "/", Scheme: scheme}}}}}}
	}
	hook := &backend.PodSpec{Spec: manifest.PodSpec{InitContainers: []manifest.Container{{Name: "init",
		Lifecycle: &manifest.Lifecycle{PreStop: &manifest.LifecycleHandler{HTTPGet: &manifest.HTTPGetAction{Scheme: "https"}}}}}}}
	cli, err := engine.New("unix:///run/none.sock")
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{cli: cli}
	b.UseTender("/bin/kgit-tender", "/bin/kgit", nil)
	for _, tc := range []struct {
		spec *backend.PodSpec
		want string
	}{{plain(""), "/bin/kgit-tender"}, {plain("HTTP"), "/bin/kgit-tender"}, {plain("HTTPS"), "/bin/kgit"}, {hook, "/bin/kgit"}} {
		if got := b.tenderProgram(tc.spec); got != tc.want {
			t.Errorf("%+v: tender %s, want %s", tc.spec.Spec.Containers, got, tc.want)
		}
	}
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:2376")
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	engine.TLS = func(conn net.Conn, _, _ string, _ bool) (net.Conn, error) { return conn, nil }
	defer func() { engine.TLS = nil }()
	if b.cli, err = engine.FromEnv(); err != nil {
		t.Fatal(err)
	}
	if got := b.tenderProgram(plain("")); got != "/bin/kgit" {
		t.Errorf("an engine that speaks TLS: tender %s, want kgit's binary", got)
	}
}
