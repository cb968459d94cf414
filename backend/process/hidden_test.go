package process

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

func TestHiddenArgs(t *testing.T) {
	for _, args := range [][]string{{"sync"}, {}, {"version"}} {
		if _, ok := Hidden(args, &bytes.Buffer{}); ok {
			t.Errorf("Hidden(%q) claimed a CLI command", args)
		}
	}
	for _, args := range [][]string{{SuperviseCommand}, {SuperviseCommand, "pod"}, {SuperviseCommand, "--root", "/r"}, {SuperviseCommand, "--bogus"}} {
		var errs bytes.Buffer
		if code, ok := Hidden(args, &errs); !ok || code != 2 || !strings.Contains(errs.String(), "root") {
			t.Errorf("Hidden(%q) = %d, %v, %q; want a usage error", args, code, ok, errs.String())
		}
	}
	var errs bytes.Buffer
	if code, _ := Hidden([]string{SuperviseCommand, "--root", t.TempDir(), "missing"}, &errs); code != 1 || !strings.Contains(errs.String(), "missing") {
		t.Errorf("a pod that does not exist: %d, %q", code, errs.String())
	}
}
