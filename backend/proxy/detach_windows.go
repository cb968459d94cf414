package proxy

import (
	"os"
	"syscall"
)

// detachedProcess is Windows' DETACHED_PROCESS creation flag (syscall does not name it).
const detachedProcess = 0x00000008

// detached starts the proxy without kgit's console, in a process group of its own, so
// that it outlives kgit.
func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess}
}

// Stop stops a process that Start started (Windows has no SIGTERM: at once).
func Stop(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
