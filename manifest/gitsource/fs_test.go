package gitsource

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
)

// TestCommitFS reads a committed tree through io/fs: files, folders, symlinks inside the
// tree (to a file and to a folder) and a symlink out of it, which cannot be read; an
// uncommitted edit is not seen.
func TestCommitFS(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git on the PATH")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("init", "-q", "-b", "main")
	write("base/kustomization.yaml", "resources: [web.yaml]\n")
	write("base/web.yaml", "kind: ConfigMap\n")
	write("overlays/prod/kustomization.yaml", "resources: [../../base]\n")
	for link, target := range map[string]string{
		"overlays/prod/link.yaml": "../../base/web.yaml",
		"overlays/basedir":        "../base",
		"outside.yaml":            "../../etc/passwd",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	run("add", ".")
	run("commit", "-qm", "one")
	write("base/web.yaml", "uncommitted\n")

	r, err := Open(context.Background(), Source{Repo: dir})
	if err != nil {
		t.Fatal(err)
	}
	c, err := resolveCommit(r.git, "")
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := newCommitFS(c)
	if err != nil {
		t.Fatal(err)
	}
	// fstest checks the folders that hold no escaping symlink: the root lists
	// outside.yaml on purpose, as a file whose reading fails and says why (below).
	for _, dir := range []string{"base", "overlays"} {
		sub, err := fs.Sub(fsys, dir)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"base": {"kustomization.yaml", "web.yaml"}, "overlays": {"prod/kustomization.yaml", "prod/link.yaml", "basedir/web.yaml"}}[dir]
		if err := fstest.TestFS(sub, want...); err != nil {
			t.Fatal(err)
		}
	}
	if entries, err := fs.ReadDir(fsys, "."); err != nil || !slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == "outside.yaml" }) {
		t.Errorf("the root's listing lacks the escaping symlink: %v, %v", entries, err)
	}
	for _, name := range []string{"base/web.yaml", "overlays/prod/link.yaml", "overlays/basedir/web.yaml"} {
		data, err := fs.ReadFile(fsys, name)
		if err != nil || string(data) != "kind: ConfigMap\n" {
			t.Errorf("ReadFile(%s) = %q, %v; want the committed content", name, data, err)
		}
	}
	if _, err := fs.ReadFile(fsys, "outside.yaml"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("a symlink out of the repository: got %v, want fs.ErrInvalid", err)
	}
	for _, name := range []string{"../etc/passwd", "/etc/passwd", "missing.yaml", "base/web.yaml/x"} {
		if _, err := fs.Stat(fsys, name); err == nil {
			t.Errorf("Stat(%q) succeeded", name)
		}
	}
	if rev := commitOf(c).Revision(); rev.Commit != c.Hash.String() || rev.Subject != "one" || rev.Files != nil {
		t.Errorf("Revision = %+v", rev)
	}
}
