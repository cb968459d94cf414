package probe

import (
	"context"
	"fmt"
	"time"

	"kgit.dev/kgit/manifest"
)

// Target is how a backend reaches one container for a lifecycle hook: Exec runs a
// command in it (true when it exited 0, with its output), Addr says where a network
// handler connects (host "" means the pod's own address), TLS secures HTTPS.
type Target struct {
	Container *manifest.Container
	Exec      func(ctx context.Context, command []string) (bool, string)
	Addr      func(host string, port manifest.IntOrString) (string, int, error)
	TLS       Handshake
}

// Hook runs a postStart or preStop handler until it ends or ctx does, and says why it
// failed in the kubelet's words; kind is "PostStart" or "PreStop". A tcpSocket handler
// does nothing, as in Kubernetes (it is deprecated there).
func Hook(ctx context.Context, kind string, h *manifest.LifecycleHandler, t Target) error {
	switch {
	case h.Exec != nil:
		if ok, out := t.Exec(ctx, h.Exec.Command); !ok {
			return fmt.Errorf("Exec lifecycle hook (%v) for Container %q failed - error: %s", h.Exec.Command, t.Container.Name, out)
		}
	case h.HTTPGet != nil:
		host, port, err := t.Addr(h.HTTPGet.Host, h.HTTPGet.Port)
		if err == nil {
			timeout := time.Hour // the kubelet bounds a hook only by the pod's life (and preStop by the grace)
			if dl, ok := ctx.Deadline(); ok {
				timeout = time.Until(dl)
			}
			if ok, msg := HTTP(ctx, h.HTTPGet, host, port, timeout, t.TLS); !ok {
				err = fmt.Errorf("%s", msg)
			}
		}
		if err != nil {
			return fmt.Errorf("HTTP lifecycle hook (%s) for Container %q failed - error: %v", h.HTTPGet.Path, t.Container.Name, err)
		}
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
	}
	return nil
}
