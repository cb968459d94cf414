package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Start starts a proxy process (exe with args; its stderr goes to logPath) in a session
// of its own, so that it outlives kgit, and returns its PID once the proxy says it
// listens (see Listening), with what it could not listen on (pending); if it exits
// first, the error holds its log. env (KEY=VALUE) is added to kgit's environment.
func Start(exe string, args []string, logPath string, env ...string) (pid int, pending string, err error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer logf.Close()
	cmd := &exec.Cmd{Path: exe, Args: args, Dir: "/", Env: append(os.Environ(), env...), Stderr: logf,
		SysProcAttr: detached()}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, "", err
	}
	if err := cmd.Start(); err != nil {
		return 0, "", fmt.Errorf("start the proxy: %w", err)
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s), "listening"); ok {
			pid := cmd.Process.Pid
			_ = cmd.Process.Release() // it outlives us; init reaps it
			return pid, strings.TrimSpace(strings.TrimPrefix(rest, " pending:")), nil
		}
		_ = cmd.Wait()
		msg, _ := os.ReadFile(logPath)
		return 0, "", fmt.Errorf("the proxy exited: %s", bytes.TrimSpace(msg))
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		return 0, "", fmt.Errorf("the proxy did not start listening")
	}
}

// Listening tells the kgit that started the proxy (Start) that it listens, and what it
// could not listen on (pending, "" for nothing).
func Listening(pending string) {
	if pending != "" {
		fmt.Println("listening pending: " + strings.ReplaceAll(pending, "\n", " "))
	} else {
		fmt.Println("listening")
	}
	os.Stdout.Close()
}

// Processes calls visit with the PID and command line of each process of the machine:
// kgit finds the host processes it started (proxies, schedulers) again by their command
// lines, which say what each serves, so that nothing about them is kept on disk.
func Processes(visit func(pid int, args []string)) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if len(cmdline) > 0 {
			visit(pid, strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00"))
		}
	}
}
