package docker

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"golang.org/x/term"

	"kgit.dev/kgit/backend"
)

// Exec implements backend.Execer through the engine's exec, as the exec probes run.
// With a terminal, the user's terminal is put in raw mode for the command's life: the
// engine's terminal then does the line editing and turns ^C into a signal.
func (b *Backend) Exec(ctx context.Context, p *backend.Pod, cname string, opts backend.ExecOptions) (int, error) {
	name := containerName(p.Namespace, p.Name, cname)
	var size *[2]uint // height, width
	out, _ := opts.Stdout.(*os.File)
	if opts.TTY && out != nil {
		if w, h, err := term.GetSize(int(out.Fd())); err == nil {
			size = &[2]uint{uint(h), uint(w)}
		}
	}
	ex, err := b.cli.ExecCreate(ctx, name, container.ExecCreateRequest{Cmd: opts.Command, Tty: opts.TTY, ConsoleSize: size,
		AttachStdin: opts.Stdin != nil, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return 0, fmt.Errorf("docker: exec in %s: %w", name, err)
	}
	att, err := b.cli.ExecStart(ctx, ex, opts.TTY, size)
	if err != nil {
		return 0, fmt.Errorf("docker: exec in %s: %w", name, err)
	}
	defer att.Close()
	if in, ok := opts.Stdin.(*os.File); ok && opts.TTY && term.IsTerminal(int(in.Fd())) {
		if old, err := term.MakeRaw(int(in.Fd())); err == nil {
			defer func() { _ = term.Restore(int(in.Fd()), old) }()
		}
	}
	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, opts.Stdin)
			_ = att.CloseWrite()
		}()
	}
	done := make(chan error, 1)
	go func() {
		var err error
		if opts.TTY {
			_, err = io.Copy(opts.Stdout, att.Reader)
		} else {
			_, err = stdcopy.StdCopy(opts.Stdout, opts.Stderr, att.Reader)
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("docker: exec in %s: %w", name, err)
	}
	res, err := b.cli.ExecInspect(context.WithoutCancel(ctx), ex)
	if err == nil && res.ExitCode == nil {
		err = fmt.Errorf("the engine has no exit code for exec %s", ex)
	}
	if err != nil {
		return 0, fmt.Errorf("docker: exec in %s: %w", name, err)
	}
	return *res.ExitCode, nil
}

// DialPod implements backend.PortForwarder: the pods' addresses on kgit's network are
// reachable from the engine's host, where kgit runs next to a local engine.
func (b *Backend) DialPod(ctx context.Context, p *backend.Pod, port int) (net.Conn, error) {
	return backend.DialPodIP(ctx, p, port)
}
