//go:build !linux

package process

import (
	"context"
	"errors"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe"
)

// errNeedsLinux is what the process backend says where it cannot run: its pods are
// host processes known by their /proc entries, and their volumes are Linux mount
// namespaces (a Mac's loopback also has only 127.0.0.1, where each pod needs an address).
var errNeedsLinux = errors.New("the process backend needs Linux (pods are tracked through /proc and mount their volumes in Linux mount namespaces): use --backend docker or podman (Docker Desktop, Podman machine), or --backend kubernetes")

// Backend is the process backend where it cannot run: it is never available, so kgit
// stops at Available with errNeedsLinux before it calls any other method.
type Backend struct {
	backend.Backend // nil: never called
	backend.Router  // nil: never called
	root            string
}

// New returns the process backend, which is never available on this system.
func New(root, kgit string) *Backend { return &Backend{root: root} }

func (b *Backend) Name() string                            { return Name }
func (b *Backend) Root() string                            { return b.root }
func (b *Backend) Available(ctx context.Context) error     { return errNeedsLinux }
func (b *Backend) Capabilities() backend.Capabilities      { return backend.Capabilities{} }
func Supervise(root, id string, tls probe.Handshake) error { return errNeedsLinux }
func Proxy(root, id string) error                          { return errNeedsLinux }
func MountExec(args []string) error                        { return errNeedsLinux }
