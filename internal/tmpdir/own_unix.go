//go:build unix

package tmpdir

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// own checks that a folder is this user's and that no one else may write it.
func own(fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("belongs to uid %d, not to this user (%d)", st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("may be written by others (mode %v)", fi.Mode().Perm())
	}
	return nil
}
