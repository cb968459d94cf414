//go:build unix

package docker

import (
	"os"
	"syscall"
)

// tenders: apps' pods get a tender (a POSIX record lock finds it again).
const tenders = true

// lockHolder is the PID of the process holding a write lock on f (0: none). The lock
// is a POSIX record lock, which the kernel drops when its holder dies.
func lockHolder(f *os.File) int {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil || lk.Type == syscall.F_UNLCK {
		return 0
	}
	return int(lk.Pid)
}

// tryLock takes a write lock on f, held until the process ends; false: another holds it.
func tryLock(f *os.File) bool {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	return syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk) == nil
}

// terminate asks a tender to end.
func terminate(pid int) { _ = syscall.Kill(pid, syscall.SIGTERM) }
