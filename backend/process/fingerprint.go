//go:build linux

package process

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Fingerprint implements backend.Fingerprinter. It reads no record: it stats the files
// of the app's records folder, its log and any an older root left (inode, size, change
// and modification times, so that a record edited in place by hand shows, as one
// appended or rewritten does), every pod's and Service's files,
// and asks /proc whether each pod's supervisor and each Service's proxy still runs.
// That is about the cost of listing what runs, not of reading every record.
func (b *Backend) Fingerprint(ctx context.Context, app string) (string, error) {
	if app == "" || strings.ContainsAny(app, "/\\") || app == "." || app == ".." {
		return "", fmt.Errorf("process: invalid app %q", app)
	}
	h := sha256.New()
	fmt.Fprintf(h, "process fingerprint 1\x00%s\x00%s\x00", b.root, app)
	if err := fingerprintFiles(h, filepath.Join(b.root, "records", app)); err != nil {
		return "", err
	}
	// Pods of any app: ListPods reads every pod folder to find the app's by label.
	if err := b.fingerprintDirs(h, "pods", []string{"pod.json", "status.json", "supervisor.json", "terminating"}, "supervisor.json"); err != nil {
		return "", err
	}
	if err := b.fingerprintDirs(h, "services", []string{"service.json", "proxy.json"}, "proxy.json"); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fingerprintDirs adds to h the folders under ROOT/kind (those that do not start with
// a dot, as the listings skip them): the stat of each named file, and whether the
// process that the file proc names is alive.
func (b *Backend) fingerprintDirs(h hash.Hash, kind string, files []string, proc string) error {
	ids, err := dirNames(filepath.Join(b.root, kind))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if strings.HasPrefix(id, ".") {
			continue
		}
		dir := filepath.Join(b.root, kind, id)
		fmt.Fprintf(h, "%s %s ", kind, id)
		for _, f := range files {
			h.Write(statEntry(filepath.Join(dir, f)))
		}
		var p Proc
		alive := readJSON(filepath.Join(dir, proc), &p) == nil && p.Alive()
		fmt.Fprintf(h, "alive=%t\x00", alive)
	}
	return nil
}

// fingerprintFiles adds to h the name and stat of every file in dir: relative to the
// open folder, and on every core when there are many (an older root's record files).
func fingerprintFiles(h hash.Hash, dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("process: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("process: %w", err)
	}
	sort.Strings(names)
	stats := make([]byte, len(names)*statSize)
	fd := int(f.Fd())
	workers := min(runtime.GOMAXPROCS(0), 1+len(names)/256)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(names); i += workers {
				var st unix.Stat_t
				if unix.Fstatat(fd, names[i], &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
					continue // absent: all zeros
				}
				putStat(stats[i*statSize:], uint64(st.Ino), uint64(st.Mode), uint64(st.Size), st.Mtim, st.Ctim)
			}
		}()
	}
	wg.Wait()
	for i, n := range names {
		h.Write(append([]byte(n), 0))
		h.Write(stats[i*statSize : (i+1)*statSize])
	}
	return nil
}

// dirNames lists a folder's entries, sorted; a folder that does not exist is empty.
func dirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// statSize is the size of what a fingerprint keeps of a file: its inode, mode, size,
// and modification and change times (a change time cannot be set back by hand); zeros
// for a file that is absent or unreadable.
const statSize = 7 * 8

func putStat(b []byte, ino, mode, size uint64, mtim, ctim unix.Timespec) {
	for i, v := range []uint64{ino, mode, size, uint64(mtim.Sec), uint64(mtim.Nsec), uint64(ctim.Sec), uint64(ctim.Nsec)} {
		binary.LittleEndian.PutUint64(b[i*8:], v)
	}
}

// statEntry is what a fingerprint keeps of the file at path.
func statEntry(path string) []byte {
	b := make([]byte, statSize)
	var st unix.Stat_t
	if unix.Lstat(path, &st) == nil {
		putStat(b, uint64(st.Ino), uint64(st.Mode), uint64(st.Size), st.Mtim, st.Ctim)
	}
	return b
}
