//go:build linux

package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Proc identifies a process by PID plus start time, so a recycled PID is never mistaken
// for the process kgit started.
type Proc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // field 22 of /proc/PID/stat: clock ticks since boot
}

// procStart reads a process's start time from /proc.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: skip past it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	if fields[0] == "Z" || fields[0] == "X" {
		return 0, errors.New("zombie")
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// identify returns the Proc of a running pid.
func identify(pid int) (Proc, error) {
	s, err := procStart(pid)
	return Proc{PID: pid, Start: s}, err
}

// Alive reports whether the very process p is still running.
func (p Proc) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	s, err := procStart(p.PID)
	return err == nil && s == p.Start
}

// SignalGroup sends sig to p's process group, if p is still the process it was.
func (p Proc) SignalGroup(sig syscall.Signal) {
	if p.Alive() {
		_ = syscall.Kill(-p.PID, sig)
	}
}

// Signal sends sig to p alone, if p is still the process it was.
func (p Proc) Signal(sig syscall.Signal) {
	if p.Alive() {
		_ = syscall.Kill(p.PID, sig)
	}
}

// waitGone waits until p has exited or d has passed; it reports whether p is gone. It
// waits on a pidfd, woken the moment p exits; without pidfds it polls /proc.
func (p Proc) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	if fd, err := unix.PidfdOpen(p.PID, 0); err == nil {
		// A pidfd opened after the PID was recycled is another process's: p is gone.
		if !p.Alive() {
			unix.Close(fd)
			return true
		}
		if exited, err := pidfdWait(fd, deadline); err == nil {
			return exited || !p.Alive()
		}
	}
	for p.Alive() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// newProcAttr is how a container's process starts: in a process group of its own
// (group), which its stop and its probes' timeouts signal as a whole.
func newProcAttr(group bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: group}
}

// killGroup kills the process group that pid leads.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// waitCmd is cmd.Wait for short commands (probes, hooks): it first parks the goroutine
// in the runtime's poller on a pidfd of the process until the process has exited, and
// only then reaps it. Blocked in the wait system call instead, the goroutine would keep
// the runtime's monitor thread waking every 20 µs for as long as the command runs:
// with a probe a second in each of a hundred pods, that cost more CPU than the wait.
// Without pidfds (Linux before 5.3) it is cmd.Wait.
func waitCmd(cmd *exec.Cmd) error {
	if fd, err := unix.PidfdOpen(cmd.Process.Pid, 0); err == nil {
		_, _ = pidfdWait(fd, time.Time{})
	}
	return cmd.Wait()
}

// pidfdWait parks the goroutine in the runtime's poller until the process of a pidfd
// has exited (the pidfd is then readable) or the deadline, if any, has passed; it
// reports whether the process exited. It closes fd.
func pidfdWait(fd int, deadline time.Time) (bool, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return false, err
	}
	f := os.NewFile(uintptr(fd), "pidfd") // nonblocking: the poller watches it
	defer f.Close()
	if !deadline.IsZero() {
		if err := f.SetReadDeadline(deadline); err != nil {
			return false, err
		}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	err = rc.Read(func(fd uintptr) bool {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		return err == nil && n > 0
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false, nil
	}
	return err == nil, err
}
