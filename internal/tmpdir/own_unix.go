//go:build unix

package tmpdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// own checks that a folder is a real folder of this user's that no one else may write.
func own(fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return errors.New("is not a folder (a symlink, or a file)")
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("belongs to uid %d, not to this user (%d)", st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("may be written by others (mode %v)", fi.Mode().Perm())
	}
	return nil
}
