//go:build unix

package proxy

import (
	"syscall"
	"time"
)

// detached starts the proxy in a session of its own, so that it outlives kgit.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// Stop stops a process that Start started: SIGTERM, then SIGKILL after 2s.
func Stop(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
