//go:build unix

package tmpdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", tmp)
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("Dir made %s: %v, %v; want a folder of mode 0700", dir, fi, err)
	}
	if again, err := Dir(); err != nil || again != dir {
		t.Fatalf("Dir again: %q, %v; want %q", again, err, dir)
	}

	// What another user could plant at the name is refused, and left as it is.
	for what, plant := range map[string]func(path string) error{
		"a symlink to a folder": func(path string) error { return os.Symlink(t.TempDir(), path) },
		"a file":                func(path string) error { return os.WriteFile(path, nil, 0o600) },
		"a folder all may write": func(path string) error {
			if err := os.Mkdir(path, 0o700); err != nil {
				return err
			}
			return os.Chmod(path, 0o777)
		},
		"another user's folder": func(path string) error {
			if err := os.Mkdir(path, 0o700); err != nil {
				return err
			}
			return os.Chown(path, 12345, 12345)
		},
	} {
		t.Run(what, func(t *testing.T) {
			if what == "another user's folder" && os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			tmp := t.TempDir()
			t.Setenv("XDG_RUNTIME_DIR", tmp)
			path := filepath.Join(tmp, "kgit-tmp")
			if err := plant(path); err != nil {
				t.Fatal(err)
			}
			if dir, err := Dir(); err == nil || !strings.Contains(err.Error(), "set TMPDIR") {
				t.Errorf("Dir with %s at %s: %q, %v; want it refused", what, path, dir, err)
			}
		})
	}
}

// A folder of the user's own that others may read is made private; what a symlink
// points at is left as it was.
func TestMake(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "own")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Make(dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("Make of a 0755 folder of the user's: %v, %v; want mode 0700", fi, err)
	}
	target := t.TempDir()
	if err := os.Chmod(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Make(link); err == nil {
		t.Error("Make accepted a symlink")
	}
	if err := Check(link); err == nil {
		t.Error("Check accepted a symlink")
	}
	if err := Check(dir); err != nil {
		t.Errorf("Check of a folder Make made: %v", err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the symlink's target: %v, %v; want it untouched (0755)", fi, err)
	}
}
