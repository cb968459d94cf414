//go:build unix

package ingress

import "syscall"

// hangup asks the controller to read its configuration again.
func hangup(pid int) error { return syscall.Kill(pid, syscall.SIGHUP) }
