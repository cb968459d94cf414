//go:build !unix

package tmpdir

import (
	"errors"
	"io/fs"
)

// own checks that a folder is a real folder (the temporary folder is the user's own on
// Windows).
func own(fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return errors.New("is not a folder (a symlink, or a file)")
	}
	return nil
}
