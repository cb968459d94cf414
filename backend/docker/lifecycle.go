package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/volume"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/manifest"
)

// The engine runs no hooks, so kgit runs a container's postStart hook when it first sees
// the container's instance running (a listing, as probes run) and, until the hook has
// succeeded, reports the container as not yet running. That an instance's hook succeeded
// is kept on the engine, as an empty volume named for the instance and labelled with the
// pod (removed with it), so that another kgit does not run the hook again. A hook that
// fails makes Tend kill the instance, which is then restarted per policy.

// labelHook marks the volumes that record a postStart hook's success.
const labelHook = "kgit.dev/post-start"

// Hook states of a container instance (probeState.hook).
const (
	hookRunning = "running"
	hookDone    = "done"
	hookFailed  = "failed"
)

func hasPostStart(c *manifest.Container) bool {
	return c.Lifecycle != nil && c.Lifecycle.PostStart != nil
}

// hookVolume names the volume that records the success of the postStart hook of one
// container instance.
func hookVolume(id string, started time.Time) string {
	return "kgit-poststart-" + id[:12] + "-" + strconv.FormatInt(started.UnixNano(), 36)
}

// postStarted reports whether the postStart hook of the running instance ins of c has
// succeeded, starting it when nobody has run it yet; while it has not, cst says so.
func (b *Backend) postStarted(ctx context.Context, p *backend.Pod, c *manifest.Container, ins container.InspectResponse, ps *probeState, cst *backend.ContainerStatus) bool {
	b.mu.Lock()
	state, msg := ps.hook, ps.hookMessage
	if state == "" {
		ps.hook = hookRunning
	}
	b.mu.Unlock()
	if state == "" {
		if _, err := b.cli.VolumeInspect(ctx, hookVolume(ins.ID, cst.StartedAt)); err == nil {
			b.setHook(ps, hookDone, "")
			return true
		}
		go b.runPostStart(p, c, ins, ps, cst.StartedAt)
	}
	switch state {
	case hookDone:
		return true
	case hookFailed:
		cst.Message = msg
	}
	cst.State, cst.Reason, cst.Ready, cst.Started = backend.StateWaiting, "ContainerCreating", false, false
	return false
}

func (b *Backend) setHook(ps *probeState, state, msg string) {
	b.mu.Lock()
	ps.hook, ps.hookMessage = state, msg
	b.mu.Unlock()
}

// runPostStart runs the hook of one instance and records how it went.
func (b *Backend) runPostStart(p *backend.Pod, c *manifest.Container, ins container.InspectResponse, ps *probeState, started time.Time) {
	ctx := context.Background()
	if err := probe.Hook(ctx, "PostStart", c.Lifecycle.PostStart, b.hookTarget(c, ins)); err != nil {
		b.setHook(ps, hookFailed, backend.PostStartHookError+err.Error())
		return
	}
	labels := map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelNamespace: p.Namespace,
		labelPod: p.Name, labelPodUID: p.UID, labelHook: c.Name}
	if _, err := b.cli.VolumeCreate(ctx, volume.CreateRequest{Name: hookVolume(ins.ID, started), Labels: labels}); err != nil {
		fmt.Fprintf(os.Stderr, "warning: docker: record the postStart hook of %s: %v\n", containerName(p.Namespace, p.Name, c.Name), err)
	}
	b.setHook(ps, hookDone, "")
}

func (b *Backend) hookTarget(c *manifest.Container, ins container.InspectResponse) probe.Target {
	return probe.Target{Container: c, TLS: b.tls,
		Exec: func(ctx context.Context, command []string) (bool, string) { return b.execProbe(ctx, ins.ID, command) },
		Addr: func(host string, port manifest.IntOrString) (string, int, error) {
			return probeTarget(c, ins, host, port)
		}}
}

// minGraceAfterPreStop is what the kubelet leaves for SIGTERM after a preStop hook that
// took the whole grace period.
const minGraceAfterPreStop = 2 * time.Second

// preStop runs the preStop hook of the running container id (c of spec), if it has one,
// within grace, and returns the grace left for the stop that follows.
func (b *Backend) preStop(ctx context.Context, c *manifest.Container, id string, grace time.Duration) time.Duration {
	if c == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil || grace <= 0 {
		return grace
	}
	ins, err := b.cli.ContainerInspect(ctx, id)
	if err != nil || ins.State == nil || !ins.State.Running {
		return grace
	}
	deadline := time.Now().Add(grace)
	hctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := probe.Hook(hctx, "PreStop", c.Lifecycle.PreStop, b.hookTarget(c, ins)); err != nil {
		fmt.Fprintf(os.Stderr, "warning: FailedPreStopHook: %v\n", err)
	}
	return max(time.Until(deadline), minGraceAfterPreStop)
}

// specContainer is the pod container of an engine container, from its labels.
func specContainer(labels map[string]string) *manifest.Container {
	var spec backend.PodSpec
	if err := json.Unmarshal([]byte(labels[labelPodSpec]), &spec); err != nil {
		return nil
	}
	return podContainer(&spec.Spec, labels[labelContainer])
}
