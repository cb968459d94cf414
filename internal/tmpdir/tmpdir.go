// Package tmpdir holds kgit's private folder in the temporary folder, where the files
// of its helper processes go (logs of Service proxies and CronJob schedulers, the
// docker ingress controller's folder, the proxies' seen files). Their names are
// predictable, so in a temporary folder that other users can write they would be open
// to a symlink planted ahead of them (kgit, often run as root, would then truncate or
// append to the file it points at). In a folder of kgit's own, they are not.
package tmpdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Dir is kgit's private folder: $XDG_RUNTIME_DIR/kgit-tmp, else /run/kgit-tmp for
// root, else $TMPDIR/kgit-tmp-EUID, made (mode 0700) when missing. A folder of that
// name that is a symlink, is not the user's, or that others may write is refused: kgit
// will not put its files there.
func Dir() (string, error) {
	dir := filepath.Join(os.TempDir(), name())
	if r := os.Getenv("XDG_RUNTIME_DIR"); r != "" {
		dir = filepath.Join(r, "kgit-tmp")
	} else if os.Geteuid() == 0 && runtime.GOOS != "windows" {
		dir = "/run/kgit-tmp" // root's: no other user can make it first
	}
	if err := Make(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// Make makes dir (mode 0700) when it is missing, and checks that it is this user's
// own folder, as Dir does: for a folder of kgit's whose name is known in advance.
func Make(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("kgit's folder: %w", err)
	}
	fi, err := check(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 { // the user's own, readable by others: made private
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("kgit's folder: %w", err)
		}
	}
	return nil
}

// Check reports whether dir is, as Make would leave it, a folder of the user's own that
// no one else may write; it changes nothing. For readers of what Make's callers write.
func Check(dir string) error {
	_, err := check(dir)
	return err
}

func check(dir string) (os.FileInfo, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("kgit's folder: %w", err)
	}
	err = own(fi)
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		err = errors.New("is not a folder (a symlink, or a file)")
	}
	if err != nil {
		return nil, fmt.Errorf("kgit's folder %s %w: remove it, or set TMPDIR", dir, err)
	}
	return fi, nil
}

// name is the folder's name: one per user, as each user's kgit runs its own helpers.
func name() string { return fmt.Sprintf("kgit-tmp-%d", os.Geteuid()) }
