package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Start starts a proxy process (exe with args; its stderr goes to logPath) in a session
// of its own, so that it outlives kgit, and returns its PID once the proxy says it
// listens (see Listening); if it exits first, the error holds its log.
func Start(exe string, args []string, logPath string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := &exec.Cmd{Path: exe, Args: args, Dir: "/", Env: os.Environ(), Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start the proxy: %w", err)
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) == "listening" {
			pid := cmd.Process.Pid
			_ = cmd.Process.Release() // it outlives us; init reaps it
			return pid, nil
		}
		_ = cmd.Wait()
		msg, _ := os.ReadFile(logPath)
		return 0, fmt.Errorf("the proxy exited: %s", bytes.TrimSpace(msg))
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("the proxy did not start listening")
	}
}

// Listening tells the kgit that started the proxy (Start) that it listens.
func Listening() {
	fmt.Println("listening")
	os.Stdout.Close()
}
