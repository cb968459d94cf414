//go:build linux

package process

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/manifest"
)

func TestSupervisorProgram(t *testing.T) {
	dir := t.TempDir()
	kgit := filepath.Join(dir, "kgit")
	t.Setenv(SupervisorEnv, "")
	if got := Supervisor(kgit); got != kgit {
		t.Errorf("nothing beside kgit: %s, want kgit itself", got)
	}
	beside := filepath.Join(dir, SupervisorName)
	if err := os.WriteFile(beside, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Supervisor(kgit); got != kgit {
		t.Errorf("a kgit-supervisor that is not executable: %s, want kgit itself", got)
	}
	if err := os.Chmod(beside, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Supervisor(kgit); got != beside {
		t.Errorf("kgit-supervisor beside kgit: %s, want %s", got, beside)
	}
	t.Setenv(SupervisorEnv, "/opt/sup")
	if got := Supervisor(kgit); got != "/opt/sup" {
		t.Errorf("$%s: %s", SupervisorEnv, got)
	}
}

// kgit-supervisor beside kgit is used only when both come from the same build.
func TestSupervisorFromAnotherBuild(t *testing.T) {
	if err := exec.Command("git", "rev-parse", "--git-dir").Run(); err != nil {
		t.Skip("not in a git checkout: builds carry no commit to tell apart")
	}
	t.Setenv(SupervisorEnv, "")
	stamped := "GOFLAGS=-buildvcs=true" // the commit goes into the build information
	dir := t.TempDir()
	kgit := filepath.Join(dir, "kgit") // any program of this build stands in for kgit
	if err := os.Rename(backendtest.Build(t, t.TempDir(), "cmd/"+SupervisorName, stamped), kgit); err != nil {
		t.Fatal(err)
	}
	beside := backendtest.Build(t, dir, "cmd/"+SupervisorName, stamped)
	if got := Supervisor(kgit); got != beside {
		t.Fatalf("a kgit-supervisor of the same build: %s, want %s", got, beside)
	}
	backendtest.Build(t, dir, "cmd/"+SupervisorName, "GOFLAGS=-buildvcs=false") // another build: no commit
	if got := Supervisor(kgit); got != kgit {
		t.Errorf("a kgit-supervisor of another build: %s, want kgit itself", got)
	}
}

func TestHiddenArgs(t *testing.T) {
	for _, args := range [][]string{{"sync"}, {}, {"version"}} {
		if _, ok := Hidden(args, &bytes.Buffer{}, nil); ok {
			t.Errorf("Hidden(%q) claimed a CLI command", args)
		}
	}
	for _, args := range [][]string{{SuperviseCommand}, {SuperviseCommand, "pod"}, {SuperviseCommand, "--root", "/r"}, {SuperviseCommand, "--bogus"}} {
		var errs bytes.Buffer
		if code, ok := Hidden(args, &errs, nil); !ok || code != 2 || !strings.Contains(errs.String(), "root") {
			t.Errorf("Hidden(%q) = %d, %v, %q; want a usage error", args, code, ok, errs.String())
		}
	}
	var errs bytes.Buffer
	if code, _ := Hidden([]string{SuperviseCommand, "--root", t.TempDir(), "missing"}, &errs, nil); code != 1 || !strings.Contains(errs.String(), "missing") {
		t.Errorf("a pod that does not exist: %d, %q", code, errs.String())
	}
}

// A pod whose probe speaks HTTPS is supervised by kgit's own binary (kgit-supervisor
// links no TLS), and both kinds of pod become ready through their probes.
func TestHTTPSProbeGetsKgitsBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	small := backendtest.Build(t, t.TempDir(), "cmd/"+SupervisorName)
	t.Setenv(SupervisorEnv, small)
	b := newBackend(t) // kgit's binary is this test binary
	if b.supervisorProgram() != small || b.kgit != self {
		t.Fatalf("programs: supervisor %s, kgit %s", b.supervisorProgram(), b.kgit)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer secure.Close()
	for _, tc := range []struct {
		name, url, scheme, want string
	}{
		{"plain", plain.URL, "HTTP", small},
		{"secure", secure.URL, "HTTPS", self},
	} {
		u, _ := url.Parse(tc.url)
		host, port, _ := net.SplitHostPort(u.Host)
		n, _ := strconv.Atoi(port)
		spec := podSpec(tc.name, "Always", 1, "sleep 3600")
		spec.Spec.Containers[0].ReadinessProbe = defaulted(manifest.Probe{PeriodSeconds: 1,
			HTTPGet: &manifest.HTTPGetAction{Host: host, Port: manifest.FromInt(int32(n)), Path: "/", Scheme: tc.scheme}})
		p, err := b.CreatePod(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, b, p.ID, "ready", func(p *backend.Pod) bool { return p.Status.Ready })
		sup, err := b.supervisorOf(p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", sup.PID)); exe != tc.want {
			t.Errorf("pod %s (%s probe) is supervised by %s, want %s", tc.name, tc.scheme, exe, tc.want)
		}
	}
}
