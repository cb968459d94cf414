package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/backend/probe/probetls"
	"kgit.dev/kgit/manifest"
)

// probeState is what kgit has seen of one container's probes. Docker runs no probes,
// so kgit runs them whenever it looks at the pod (every poll of a sync, each get), at
// most once per period, with Kubernetes' thresholds.
type probeState struct {
	started, ready bool
	readySince     time.Time
	message        string
	runs           map[string]*probeRun
}

type probeRun struct {
	last                time.Time
	successes, failures int
}

// probedPorts are the ports an httpGet or tcpSocket probe of the container targets; they
// are published on 127.0.0.1 so that kgit probes through the loopback interface.
func probedPorts(c *manifest.Container) []int {
	var ports []int
	for _, p := range []*manifest.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if p == nil {
			continue
		}
		var port manifest.IntOrString
		switch {
		case p.HTTPGet != nil && p.HTTPGet.Host == "":
			port = p.HTTPGet.Port
		case p.TCPSocket != nil && p.TCPSocket.Host == "":
			port = p.TCPSocket.Port
		default:
			continue
		}
		if n, err := probe.Port(c, port); err == nil {
			ports = append(ports, n)
		}
	}
	return ports
}

// applyProbes runs the container's due probes and sets its readiness; a liveness or
// startup failure restarts the container.
func (b *Backend) applyProbes(ctx context.Context, p *backend.Pod, c *manifest.Container, ins container.InspectResponse, cst *backend.ContainerStatus) {
	b.mu.Lock()
	ps := b.probes[ins.ID]
	if ps == nil || cst.State != backend.StateRunning || ps.runs["started"] == nil || !ps.runs["started"].last.Equal(cst.StartedAt) {
		// a new container instance: start over, as the kubelet does
		ps = &probeState{started: c.StartupProbe == nil, runs: map[string]*probeRun{"started": {last: cst.StartedAt}}}
		b.probes[ins.ID] = ps
	}
	b.mu.Unlock()
	if cst.State != backend.StateRunning {
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
			_, _ = b.cli.ContainerRestart(ctx, ins.ID, client.ContainerRestartOptions{Timeout: &secs})
			ps.ready = false
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
	hostPort := func(port manifest.IntOrString) (int, error) {
		n, err := probe.Port(c, port)
		if err != nil {
			return 0, err
		}
		np, _ := network.ParsePort(fmt.Sprintf("%d/tcp", n))
		if ins.NetworkSettings != nil {
			for _, pb := range ins.NetworkSettings.Ports[np] {
				if hp, err := strconv.Atoi(pb.HostPort); err == nil {
					return hp, nil
				}
			}
		}
		return 0, fmt.Errorf("port %d of container %s is not published", n, c.Name)
	}
	// target is where a network probe connects: its host as given, or else the port the
	// engine published on 127.0.0.1 for the container's port.
	target := func(host string, port manifest.IntOrString) (string, int, error) {
		if host != "" {
			n, err := probe.Port(c, port)
			return host, n, err
		}
		n, err := hostPort(port)
		return "127.0.0.1", n, err
	}
	switch {
	case p.Exec != nil:
		return b.execProbe(ctx, ins.ID, p.Exec.Command)
	case p.HTTPGet != nil:
		host, port, err := target(p.HTTPGet.Host, p.HTTPGet.Port)
		if err != nil {
			return false, err.Error()
		}
		return probe.HTTP(ctx, p.HTTPGet, host, port, timeout, probetls.Handshake)
	case p.TCPSocket != nil:
		host, port, err := target(p.TCPSocket.Host, p.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		return probe.TCP(ctx, host, port, timeout)
	}
	return false, "no supported probe handler (grpc is not supported)"
}

// execProbe runs a command in the container through the engine.
func (b *Backend) execProbe(ctx context.Context, id string, cmd []string) (bool, string) {
	ex, err := b.cli.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return false, err.Error()
	}
	att, err := b.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
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
	res, err := b.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return false, err.Error()
	}
	output := strings.TrimSpace(out.String())
	if res.ExitCode != 0 {
		return false, fmt.Sprintf("command %q exited with %d: %s", strings.Join(cmd, " "), res.ExitCode, output)
	}
	return true, output
}
