package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/manifest"
)

// probeState is what kgit has seen of one container's probes. Docker runs no probes,
// so kgit runs them whenever it looks at the pod (every poll of a sync, each get), at
// most once per period, with Kubernetes' thresholds.
type probeState struct {
	started, ready bool
	// restart is the grace period of a restart that a failed liveness or startup probe
	// asks for; Tend does it (a listing never changes a container). nil: none due.
	restart    *int
	container  string // the container's name
	readySince time.Time
	message    string
	runs       map[string]*probeRun
	// hook is where the instance's postStart hook stands (hookRunning, ...), and
	// hookMessage why it failed; a failed one makes Tend kill the instance.
	hook, hookMessage string
}

type probeRun struct {
	last                time.Time
	successes, failures int
}

// probedPorts are the ports an httpGet or tcpSocket probe of the container targets; they
// are published on 127.0.0.1 so that kgit probes through the loopback interface.
func probedPorts(c *manifest.Container) []int {
	var ports []int
	add := func(h *manifest.HTTPGetAction) {
		if h != nil && h.Host == "" {
			if n, err := probe.Port(c, h.Port); err == nil {
				ports = append(ports, n)
			}
		}
	}
	for _, p := range []*manifest.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if p == nil {
			continue
		}
		add(p.HTTPGet)
		switch {
		case p.TCPSocket != nil && p.TCPSocket.Host == "":
			if n, err := probe.Port(c, p.TCPSocket.Port); err == nil {
				ports = append(ports, n)
			}
		case p.GRPC != nil:
			ports = append(ports, int(p.GRPC.Port))
		}
	}
	if l := c.Lifecycle; l != nil {
		for _, h := range []*manifest.LifecycleHandler{l.PostStart, l.PreStop} {
			if h != nil {
				add(h.HTTPGet)
			}
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// applyProbes runs the container's due probes and sets its readiness; a liveness or
// startup failure makes a restart due, which Tend does.
func (b *Backend) applyProbes(ctx context.Context, p *backend.Pod, c *manifest.Container, ins container.InspectResponse, cst *backend.ContainerStatus) {
	b.mu.Lock()
	ps := b.probes[ins.ID]
	if ps == nil || cst.State != backend.StateRunning || ps.runs["started"] == nil || !ps.runs["started"].last.Equal(cst.StartedAt) {
		// a new container instance: start over, as the kubelet does
		ps = &probeState{started: c.StartupProbe == nil, container: containerName(p.Namespace, p.Name, c.Name), runs: map[string]*probeRun{"started": {last: cst.StartedAt}}}
		b.probes[ins.ID] = ps
	}
	b.mu.Unlock()
	if cst.State != backend.StateRunning || hasPostStart(c) && !b.postStarted(ctx, p, c, ins, ps, cst) {
		return
	}
	now := time.Now()
	for _, kp := range []struct {
		kind string
		p    *manifest.Probe
	}{{"Startup", c.StartupProbe}, {"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}} {
		if kp.p == nil || (kp.kind == "Startup") == ps.started {
			continue
		}
		run := ps.runs[kp.kind]
		if run == nil {
			run = &probeRun{}
			ps.runs[kp.kind] = run
		}
		if now.Sub(cst.StartedAt) < time.Duration(kp.p.InitialDelaySeconds)*time.Second ||
			!run.last.IsZero() && now.Sub(run.last) < time.Duration(kp.p.PeriodSeconds)*time.Second {
			continue
		}
		run.last = now
		ok, out := b.check(ctx, c, kp.p, ins)
		if ok {
			run.successes, run.failures = run.successes+1, 0
		} else {
			run.successes, run.failures = 0, run.failures+1
		}
		switch {
		case ok && run.successes >= int(kp.p.SuccessThreshold):
			switch kp.kind {
			case "Startup":
				ps.started = true
			case "Readiness":
				ps.ready, ps.message = true, ""
			}
		case !ok && run.failures >= int(kp.p.FailureThreshold):
			ps.message = fmt.Sprintf("%s probe failed: %s", kp.kind, out)
			if kp.kind == "Readiness" {
				ps.ready = false
				continue
			}
			ps.message += fmt.Sprintf("; Container %s failed %s probe, will be restarted", c.Name, strings.ToLower(kp.kind))
			secs := int(*p.Spec.TerminationGracePeriodSeconds)
			if kp.p.TerminationGracePeriodSeconds != nil {
				secs = int(*kp.p.TerminationGracePeriodSeconds)
			}
			ps.restart, ps.ready = &secs, false
		}
	}
	ready := ps.started && (c.ReadinessProbe == nil || ps.ready)
	if ready && ps.readySince.IsZero() {
		ps.readySince = now
	} else if !ready {
		ps.readySince = time.Time{}
	}
	cst.Ready, cst.Started = ready, ps.started
	if ps.message != "" && !ready {
		cst.Message = ps.message
	}
}

// readySince is when the pod last became ready as far as this kgit has seen, or its
// start when it has no probe (ready as soon as it runs).
func (b *Backend) readySince(p *backend.Pod, ids []string) time.Time {
	since := p.Status.StartTime
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		if ps := b.probes[id]; ps != nil && ps.readySince.After(since) {
			since = ps.readySince
		}
	}
	return since
}

// check runs one probe: exec through the engine, httpGet and tcpSocket against the
// port the engine published for it on 127.0.0.1.
func (b *Backend) check(ctx context.Context, c *manifest.Container, p *manifest.Probe, ins container.InspectResponse) (bool, string) {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target := func(host string, port manifest.IntOrString) (string, int, error) {
		return probeTarget(c, ins, host, port)
	}
	switch {
	case p.Exec != nil:
		return b.execProbe(ctx, ins.ID, p.Exec.Command)
	case p.HTTPGet != nil:
		host, port, err := target(p.HTTPGet.Host, p.HTTPGet.Port)
		if err != nil {
			return false, err.Error()
		}
		return probe.HTTP(ctx, p.HTTPGet, host, port, timeout, b.tls)
	case p.TCPSocket != nil:
		host, port, err := target(p.TCPSocket.Host, p.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		return probe.TCP(ctx, host, port, timeout)
	case p.GRPC != nil:
		host, port, err := target("", manifest.IntOrString{IntVal: p.GRPC.Port})
		if err != nil {
			return false, err.Error()
		}
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		return probe.GRPC(ctx, host, port, service, timeout)
	}
	return false, "no supported probe handler"
}

// probeTarget is where a network probe or hook of container c connects: its host as
// given, or else the port the engine published on 127.0.0.1 for the container's port.
func probeTarget(c *manifest.Container, ins container.InspectResponse, host string, port manifest.IntOrString) (string, int, error) {
	n, err := probe.Port(c, port)
	if err != nil || host != "" {
		return host, n, err
	}
	np, _ := network.ParsePort(fmt.Sprintf("%d/tcp", n))
	if ins.NetworkSettings != nil {
		for _, pb := range ins.NetworkSettings.Ports[np] {
			if hp, err := strconv.Atoi(pb.HostPort); err == nil {
				return "127.0.0.1", hp, nil
			}
		}
	}
	return "", 0, fmt.Errorf("port %d of container %s is not published", n, c.Name)
}

// execProbe runs a command in the container through the engine.
func (b *Backend) execProbe(ctx context.Context, id string, cmd []string) (bool, string) {
	ex, err := b.cli.ExecCreate(ctx, id, container.ExecCreateRequest{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return false, err.Error()
	}
	att, err := b.cli.ExecStart(ctx, ex, false, nil)
	if err != nil {
		return false, err.Error()
	}
	defer att.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		_, _ = stdcopy.StdCopy(&out, &out, io.LimitReader(att.Reader, probe.MaxOutput))
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return false, fmt.Sprintf("command %q timed out", strings.Join(cmd, " "))
	}
	res, err := b.cli.ExecInspect(ctx, ex)
	if err != nil {
		return false, err.Error()
	}
	output := strings.TrimSpace(out.String())
	if res.ExitCode == nil {
		return false, fmt.Sprintf("command %q: the engine has no exit code for it", strings.Join(cmd, " "))
	}
	if *res.ExitCode != 0 {
		return false, fmt.Sprintf("command %q exited with %d: %s", strings.Join(cmd, " "), *res.ExitCode, output)
	}
	return true, output
}

// Tend implements backend.Tender: it does the kubelet's work the engine does not. A
// container whose liveness or startup probe failed is restarted with its grace period;
// a container that its pod's restart policy says should run but that the engine left
// stopped (stopped or killed by hand: the engine never restarts those) is started again.
func (b *Backend) Tend(ctx context.Context, p *backend.Pod) error {
	b.ensureTender(&p.PodSpec)
	delegated := b.tenderAlive(p.Labels[backend.LabelApp]) // the app's tender restarts, and counts, what is due
	policy := p.Spec.RestartPolicy
	var errs []error
	if len(p.Spec.InitContainers) > 0 {
		if err := b.advanceInit(ctx, p); err != nil {
			return err
		}
	}
	for _, cs := range p.Status.Containers {
		name := containerName(p.Namespace, p.Name, cs.Name)
		switch {
		case cs.State == backend.StateRunning || cs.State == backend.StateWaiting && cs.Reason == "ContainerCreating": // (running its postStart hook)
			b.mu.Lock()
			var secs *int
			kill := false
			for id, ps := range b.probes {
				if ps.container != name {
					continue
				}
				if ps.hook == hookFailed {
					// a failed postStart hook: the instance is killed and restarted per policy
					kill, ps.hook = true, hookRunning
					grace := int(*p.Spec.TerminationGracePeriodSeconds)
					secs = &grace
				}
				if ps.restart != nil {
					secs, ps.restart = ps.restart, nil
					delete(b.probes, id)
				}
			}
			b.mu.Unlock()
			if secs != nil && !delegated {
				c := podContainer(&p.Spec, cs.Name)
				left := int(math.Round(b.preStop(ctx, c, name, time.Duration(*secs)*time.Second).Seconds()))
				var err error
				if kill {
					err = b.cli.ContainerStop(ctx, name, &left)
				} else {
					err = b.cli.ContainerRestart(ctx, name, &left)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("docker: restart %s: %w", name, err))
				} else if b.tend.restarted != nil {
					b.tend.restarted(name)
				}
			}
		case cs.State == backend.StateTerminated && !delegated && (policy == "Always" || policy == "OnFailure" && cs.ExitCode != 0):
			// the engine may be restarting it at this moment (Docker: "is restarting";
			// Podman restarts at once and then finds it running)
			if err := b.cli.ContainerStart(ctx, name); err != nil && !strings.Contains(err.Error(), "is restarting") && !strings.Contains(err.Error(), "running") {
				errs = append(errs, fmt.Errorf("docker: start %s again: %w", name, err))
			} else if err == nil && b.tend.restarted != nil {
				b.tend.restarted(name)
			}
		}
	}
	return errors.Join(errs...)
}

// advanceInit starts a pod's next container, as the kubelet does: the init containers
// one at a time in order (each once the one before has succeeded, or, a sidecar, has
// started), then the app containers. A failed init container is restarted by the engine
// (its restart policy is on-failure unless the pod's is Never).
func (b *Backend) advanceInit(ctx context.Context, p *backend.Pod) error {
	start := func(name string) error {
		cname := containerName(p.Namespace, p.Name, name)
		for i := 1; ; i++ {
			err := b.cli.ContainerStart(ctx, cname)
			// The init container before this one held the pod's address; the engine
			// releases it a moment after that container exits ("IPAM error: requested
			// ip address ... is already allocated"): wait for it, a few times.
			if err == nil || i == 6 || !strings.Contains(err.Error(), "already allocated") {
				if err != nil {
					return fmt.Errorf("docker: start %s: %w", cname, err)
				}
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("docker: start %s: %w", cname, err)
			case <-time.After(time.Duration(i) * 100 * time.Millisecond):
			}
		}
	}
	for i, cs := range p.Status.InitContainers {
		switch {
		case cs.State == backend.StateWaiting && cs.Reason == "PodInitializing":
			return start(cs.Name)
		case backend.IsSidecar(&p.Spec.InitContainers[i]):
			if cs.RestartCount == 0 && !(cs.State == backend.StateRunning && cs.Started) {
				return nil // not started yet: the next waits
			}
		case cs.State == backend.StateTerminated && cs.ExitCode == 0:
		default:
			return nil // running, or failed
		}
	}
	var errs []error
	for _, cs := range p.Status.Containers {
		if cs.State == backend.StateWaiting && cs.Reason == "ContainerCreating" {
			errs = append(errs, start(cs.Name))
		}
	}
	return errors.Join(errs...)
}

// podContainer is the container of spec named name, nil if none.
func podContainer(spec *manifest.PodSpec, name string) *manifest.Container {
	for _, list := range [][]manifest.Container{spec.InitContainers, spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
