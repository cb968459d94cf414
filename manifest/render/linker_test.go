package render

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildTags are the tags kgit is built with, everywhere (go build, go test, .ci/run,
// the README): without kustomize_disable_go_plugin_support, kustomize links Go's plugin
// package (with cgo on), which costs about 15 MB here and turns the linker's dead-method
// elimination off for the whole binary. CGO_ENABLED=0 has the same effect as the tag.
const buildTags = "kustomize_disable_go_plugin_support"

// TestLinkerDeadcode links a program that renders as kgit does (testdata/linkcheck:
// gitsource, render, manifest) with kgit's build tags and checks with -ldflags=-dumpdep
// that no symbol is marked <ReflectMethod>: a reachable reflect Method/MethodByName (from
// plugin, text/template or html/template) keeps every exported method of every type
// linked. The program then renders a kustomization from a real commit.
func TestLinkerDeadcode(t *testing.T) {
	if testing.Short() {
		t.Skip("links a program")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := filepath.Join(t.TempDir(), "linkcheck")
	linkedClean(t, gobin, bin, "./testdata/linkcheck")
	// and kgit itself, as users build it
	linkedClean(t, gobin, filepath.Join(t.TempDir(), "kgit"), "../../cmd/kgit")

	git, err := exec.LookPath("git")
	if err != nil {
		return
	}
	dir := writeRepo(t, appsRepo)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-qm", "apps"}} {
		c := exec.Command(git, args...)
		c.Dir = dir
		c.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	out, err := exec.Command(bin, dir, "apps/web/overlays/dev").CombinedOutput()
	if err != nil || !strings.Contains(string(out), " kustomize 4\n") {
		t.Errorf("linkcheck on a commit: %v\n%s", err, out)
	}
}

// linkedClean builds pkg with kgit's tags and fails the test when any dependency is
// marked <ReflectMethod>.
func linkedClean(t *testing.T, gobin, bin, pkg string) {
	t.Helper()
	cmd := exec.Command(gobin, "build", "-tags", buildTags, "-ldflags=-dumpdep", "-o", bin, pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, tail(stderr.String(), 40))
	}
	var marked []string
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "<ReflectMethod>") {
			marked = append(marked, sc.Text())
		}
	}
	if len(marked) > 0 {
		t.Errorf("%s: dead-method elimination is off: %d dependencies marked <ReflectMethod>, e.g.\n%s", pkg, len(marked), strings.Join(marked[:min(len(marked), 10)], "\n"))
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}
