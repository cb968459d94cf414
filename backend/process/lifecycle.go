//go:build linux

package process

import (
	"context"
	"fmt"
	"os"
	"time"

	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/manifest"
)

// hookTarget is how a lifecycle hook of container c reaches it: exec in its environment,
// network handlers at the pod's address.
func (s *supervisor) hookTarget(c *manifest.Container) probe.Target {
	return probe.Target{Container: c, TLS: s.tls,
		Exec: func(ctx context.Context, command []string) (bool, string) { return s.execProbe(ctx, c, command) },
		Addr: func(host string, port manifest.IntOrString) (string, int, error) { return s.target(c, host, port) }}
}

// postStart runs container i's postStart hook, if it has one, until it ends, the
// instance exits or the pod is stopped; the error is the hook's failure.
func (s *supervisor) postStart(i int, c *manifest.Container, exited <-chan struct{}) error {
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-exited:
		case <-s.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	err := probe.Hook(ctx, "PostStart", c.Lifecycle.PostStart, s.hookTarget(c))
	if err != nil && ctx.Err() != nil {
		return nil // the instance ended, or the pod is being stopped: not the hook's failure
	}
	return err
}

// minGraceAfterPreStop is what the kubelet leaves for SIGTERM after a preStop hook that
// took the whole grace period (minimumGracePeriodInSeconds).
const minGraceAfterPreStop = 2 * time.Second

// preStop runs container i's preStop hook, if it has one, against the grace period
// that ends at deadline, and returns when SIGKILL is due: the deadline, or at least
// minGraceAfterPreStop after the hook. A hook that fails only delays the stop, as in
// Kubernetes (the supervisor's log says why).
func (s *supervisor) preStop(i int, deadline time.Time) time.Time {
	if i < 0 || s.all[i].Lifecycle == nil || s.all[i].Lifecycle.PreStop == nil || !time.Now().Before(deadline) {
		return deadline // no hook, or no grace (a forced stop) to run it in
	}
	c := &s.all[i]
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := probe.Hook(ctx, "PreStop", c.Lifecycle.PreStop, s.hookTarget(c)); err != nil {
		fmt.Fprintf(os.Stderr, "FailedPreStopHook: %v\n", err)
	}
	return later(deadline, time.Now().Add(minGraceAfterPreStop))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// index is the index in s.all of the container named name, -1 if none.
func (s *supervisor) index(name string) int {
	for i := range s.all {
		if s.all[i].Name == name {
			return i
		}
	}
	return -1
}
