//go:build unix

package main

import "syscall"

// killPID sends sig to the process pid.
func killPID(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }
