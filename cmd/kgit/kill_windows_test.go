package main

import (
	"os"
	"syscall"
)

// killPID ends the process pid: Windows has no signals to send, whatever sig says.
func killPID(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
