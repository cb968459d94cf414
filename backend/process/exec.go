//go:build linux

package process

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"syscall"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// Exec implements backend.Execer: the command runs as the container's exec probes run,
// with the container's environment, working directory and (through `__mountexec`) its
// volumes, started by the caller rather than by the pod's supervisor. With a terminal
// it shares the caller's process group and terminal, so that the terminal's signals
// (^C, ^Z) reach it as they would reach any program the user starts.
func (b *Backend) Exec(ctx context.Context, p *backend.Pod, container string, opts backend.ExecOptions) (int, error) {
	dir := b.podDir(p.ID)
	var pf podFile
	if err := readJSON(filepath.Join(dir, "pod.json"), &pf); err != nil {
		return 0, fmt.Errorf("pod %s: %w", p.Name, backend.ErrNotFound)
	}
	var st statusFile
	_ = readStatus(dir, &st)
	if proc, ok := st.Procs[container]; !ok || !proc.Alive() {
		return 0, fmt.Errorf("container %s in pod %s is not running", container, p.Name)
	}
	var c *manifest.Container
	for i := range pf.Spec.Containers {
		if pf.Spec.Containers[i].Name == container {
			c = &pf.Spec.Containers[i]
		}
	}
	if c == nil || len(opts.Command) == 0 {
		return 0, fmt.Errorf("pod %s: no container %q, or no command", p.Name, container)
	}
	s := &supervisor{root: b.root, dir: dir, pod: pf}
	env, vals, err := s.containerEnv(c)
	if err != nil {
		return 0, err
	}
	attr := newProcAttr(!opts.TTY)
	path, argv, err := s.resolve(c, opts.Command, vals, attr)
	if err != nil {
		return 0, err
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Dir: workingDir(c), Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, SysProcAttr: attr}
	if opts.TTY {
		cmd.Stderr = opts.Stdout
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		if !opts.TTY { // with a terminal, the terminal's ^C reached the command itself
			killGroup(cmd.Process.Pid)
		}
		err = <-done
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, err
}

// DialPod implements backend.PortForwarder: a pod's address is one of the host's
// loopback addresses.
func (b *Backend) DialPod(ctx context.Context, p *backend.Pod, port int) (net.Conn, error) {
	return backend.DialPodIP(ctx, p, port)
}
