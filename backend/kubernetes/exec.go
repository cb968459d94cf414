package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"golang.org/x/term"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"

	"kgit.dev/kgit/backend"
)

var _ backend.Execer = (*Target)(nil)

// Exec runs a command in a container of a pod through the API server's pods/exec
// subresource (the node's kubelet runs it), as kubectl exec does: over WebSockets,
// falling back to SPDY for a server that does not upgrade to them. It returns the
// command's exit code as the kubelet reports it; err is for a command that could not
// run, or a failure the server reports without an exit code.
func (t *Target) Exec(ctx context.Context, p *backend.Pod, container string, opts backend.ExecOptions) (int, error) {
	if len(opts.Command) == 0 {
		return 0, errors.New("exec: no command")
	}
	q := url.Values{}
	if container != "" {
		q.Set("container", container)
	}
	for _, c := range opts.Command {
		q.Add("command", c)
	}
	if opts.Stdin != nil {
		q.Set("stdin", "true")
	}
	if opts.Stdout != nil {
		q.Set("stdout", "true")
	}
	if opts.Stderr != nil && !opts.TTY { // a terminal carries both on stdout
		q.Set("stderr", "true")
	}
	if opts.TTY {
		q.Set("tty", "true")
	}
	u, err := t.podURL(p, "exec", q)
	if err != nil {
		return 0, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(t.rest, "POST", u)
	if err != nil {
		return 0, err
	}
	// A WebSocket upgrade must be a GET (RFC 6455).
	ws, err := remotecommand.NewWebSocketExecutor(t.rest, "GET", u.String())
	if err != nil {
		return 0, err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return 0, err
	}
	so := remotecommand.StreamOptions{Stdin: opts.Stdin, Stdout: opts.Stdout, Tty: opts.TTY}
	if !opts.TTY {
		so.Stderr = opts.Stderr
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.TTY {
		// The user's terminal in raw mode for the command's life (the remote terminal
		// does the line editing), and its size given to the remote one.
		if in, ok := opts.Stdin.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
			if old, err := term.MakeRaw(int(in.Fd())); err == nil {
				defer func() { _ = term.Restore(int(in.Fd()), old) }()
			}
		}
		if out, ok := opts.Stdout.(*os.File); ok {
			if w, h, err := term.GetSize(int(out.Fd())); err == nil {
				so.TerminalSizeQueue = &onceSize{size: remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}, done: ctx.Done()}
			}
		}
	}
	err = ex.StreamWithContext(ctx, so)
	var code exec.CodeExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &code):
		return code.Code, nil
	case ctx.Err() != nil:
		return 0, ctx.Err()
	}
	return 0, fmt.Errorf("exec in pod %s/%s: %w", p.Namespace, p.Name, t.wrap(err))
}

// onceSize gives the terminal's size once, then nothing until the command ends.
type onceSize struct {
	size remotecommand.TerminalSize
	sent bool
	done <-chan struct{}
}

func (q *onceSize) Next() *remotecommand.TerminalSize {
	if !q.sent {
		q.sent = true
		return &q.size
	}
	<-q.done
	return nil
}
