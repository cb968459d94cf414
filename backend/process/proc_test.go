//go:build linux

package process

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitGone must tell a process that exits within the wait from one that outlives it,
// whether the process is this one's child (a container) or not (a supervisor).
func TestWaitGone(t *testing.T) {
	cmd := exec.Command("sleep", "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, err := identify(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	if !p.waitGone(10 * time.Second) {
		t.Error("a child that exits after 0.2 s: not gone after 10 s")
	}
	if p.Alive() {
		t.Error("waitGone said gone, but the process is alive")
	}

	long := exec.Command("sleep", "30")
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { long.Process.Kill(); long.Wait() }()
	q, err := identify(long.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if q.waitGone(100 * time.Millisecond) {
		t.Error("a process that runs 30 s: gone after 0.1 s")
	}
	// A PID that is no longer the process it was (another start time) is gone at once.
	if !(Proc{PID: q.PID, Start: q.Start + 1}).waitGone(10 * time.Second) {
		t.Error("a recycled PID counted as the process")
	}
}

// swapFile rewrites a file in place of its twin: after the first two writes it makes
// no new inode, and a reader never sees anything but a whole status, old or new,
// however fast the writes come.
func TestSwapFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "status.json")
	inodes := map[uint64]bool{}
	for i := range 10 {
		st := statusFile{}
		st.Message = strings.Repeat("x", i*37) // sizes that differ, as statuses do
		data, _ := json.Marshal(st)
		if err := swapFile(path, data); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != string(data) {
			t.Fatalf("write %d: read %q, %v; want %q", i, got, err, data)
		}
		id, _ := fileIDOf(path)
		inodes[id.ino] = true
	}
	if _, err := os.Stat(filepath.Join(dir, ".status.json.next")); err != nil {
		t.Logf("no twin (the filesystem cannot exchange names): %v", err)
	} else if len(inodes) != 2 {
		t.Errorf("10 writes used %d inodes, want the file and its twin: 2", len(inodes))
	}

	// Writes a few times faster than a supervisor's busiest (its start), readers as
	// fast as they can: a reader that opened the file just before an exchange reads
	// the twin being rewritten, and must read again.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, end := 0, time.Now().Add(time.Second); time.Now().Before(end); i++ {
			st := statusFile{}
			st.Message = strings.Repeat("y", i%300)
			data, _ := json.Marshal(st)
			if err := swapFile(path, data); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var failed error
	reads := 0
	for running := true; running; reads++ {
		select {
		case <-done:
			running = false
		default:
		}
		var st statusFile
		if err := readStatus(dir, &st); err != nil && failed == nil {
			failed = fmt.Errorf("read %d, during the writes: %w", reads, err)
		} else if err == nil && strings.Trim(st.Message, "x") != "" && strings.Trim(st.Message, "y") != "" && failed == nil {
			failed = fmt.Errorf("read %d: a status no write made: %q", reads, st.Message)
		}
	}
	if failed != nil {
		t.Error(failed)
	}
	t.Logf("%d reads", reads)
}

// The pods' folder asks ext4 to spread the pods' folders over its block groups (see
// spreadFolders), where the filesystem takes the flag.
func TestPodFoldersSpread(t *testing.T) {
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	if err := os.Mkdir(probe, 0o700); err != nil {
		t.Fatal(err)
	}
	spreadFolders(probe)
	if !topdir(t, probe) {
		t.Logf("%s does not keep FS_TOPDIR_FL (not ext4): nothing to check", dir)
		return
	}
	b := New(filepath.Join(dir, "root"), "")
	if err := b.Available(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !topdir(t, filepath.Join(dir, "root", "pods")) {
		t.Error("ROOT/pods lacks FS_TOPDIR_FL on a filesystem that keeps it")
	}
}

func topdir(t *testing.T, dir string) bool {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	return err == nil && flags&fsTopdirFL != 0
}
