//go:build linux

package process

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/manifest"
)

// Probe kinds, as the kubelet names them in its messages.
const (
	startupProbe   = "Startup"
	livenessProbe  = "Liveness"
	readinessProbe = "Readiness"
)

// startProbes runs a container instance's probes until ctx ends (the instance exited).
// Without a startup probe the container counts as started at once; without a readiness
// probe it is ready once started.
func (s *supervisor) startProbes(ctx context.Context, i int, c *manifest.Container, proc Proc, started time.Time) {
	s.update(func(st *statusFile) {
		cs := s.cs(st, i)
		cs.Started = c.StartupProbe == nil
		cs.Ready = cs.Started && c.ReadinessProbe == nil
	})
	for kind, p := range map[string]*manifest.Probe{startupProbe: c.StartupProbe, livenessProbe: c.LivenessProbe, readinessProbe: c.ReadinessProbe} {
		if p != nil {
			go s.probeLoop(ctx, i, c, kind, p, proc, started)
		}
	}
}

// probeLoop is one kubelet probe worker: it probes at once and then every period on a
// ticker, as the kubelet's worker does (a probe's own run time does not push the next
// one back), counts consecutive results, and acts when a threshold is reached.
func (s *supervisor) probeLoop(ctx context.Context, i int, c *manifest.Container, kind string, p *manifest.Probe, proc Proc, started time.Time) {
	tick := time.NewTicker(time.Duration(p.PeriodSeconds) * time.Second)
	defer tick.Stop()
	successes, failures := 0, 0
	reported := "" // the readiness result last written: a probe that keeps passing costs no update
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		isStarted := s.containerStarted(i)
		if kind == startupProbe && isStarted || kind != startupProbe && !isStarted {
			if kind == startupProbe {
				return
			}
			continue
		}
		if time.Since(started) < time.Duration(p.InitialDelaySeconds)*time.Second {
			continue
		}
		ok, output := s.check(ctx, c, p)
		if ctx.Err() != nil {
			return
		}
		if ok {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		switch {
		case ok && successes >= int(p.SuccessThreshold):
			if kind == startupProbe {
				s.setProbeResult(i, func(cs *backend.ContainerStatus) { cs.Started, cs.Ready = true, cs.Ready || c.ReadinessProbe == nil })
				return
			}
			if kind == readinessProbe && reported != "ready" {
				s.setProbeResult(i, func(cs *backend.ContainerStatus) { cs.Ready, cs.Message = true, "" })
				reported = "ready"
			}
		case !ok && failures >= int(p.FailureThreshold):
			msg := fmt.Sprintf("%s probe failed: %s", kind, output)
			if kind == readinessProbe {
				if reported != msg {
					s.setProbeResult(i, func(cs *backend.ContainerStatus) { cs.Ready, cs.Message = false, msg })
					reported = msg
				}
				continue
			}
			s.setProbeResult(i, func(cs *backend.ContainerStatus) {
				cs.Ready = false
				cs.Message = fmt.Sprintf("%s; Container %s failed %s probe, will be restarted", msg, c.Name, strings.ToLower(kind))
			})
			s.killInstance(i, proc, s.probeGrace(p))
			return
		}
	}
}

func (s *supervisor) containerStarted(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cs(&s.status, i).Started
}

func (s *supervisor) setProbeResult(i int, f func(cs *backend.ContainerStatus)) {
	s.update(func(st *statusFile) {
		if cs := s.cs(st, i); cs.State == backend.StateRunning {
			f(cs)
		}
	})
}

// probeGrace is the probe's terminationGracePeriodSeconds, else the pod's.
func (s *supervisor) probeGrace(p *manifest.Probe) time.Duration {
	if p.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	return time.Duration(*s.pod.Spec.TerminationGracePeriodSeconds) * time.Second
}

// killInstance stops one container instance (container i of s.all): its preStop hook,
// SIGTERM to its group, the rest of the grace, SIGKILL. The container's run loop then
// restarts it as its restartPolicy says.
func (s *supervisor) killInstance(i int, proc Proc, grace time.Duration) {
	deadline := s.preStop(i, time.Now().Add(grace))
	proc.SignalGroup(syscall.SIGTERM)
	if !proc.waitGone(time.Until(deadline)) {
		proc.SignalGroup(syscall.SIGKILL)
	}
}

// probe runs one check with the probe's timeout: exec in the container's environment,
// an HTTP GET (200-399 passes) or a TCP connect to the pod's address.
func (s *supervisor) check(ctx context.Context, c *manifest.Container, p *manifest.Probe) (bool, string) {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.Exec != nil:
		return s.execProbe(ctx, c, p.Exec.Command)
	case p.HTTPGet != nil:
		host, port, err := s.target(c, p.HTTPGet.Host, p.HTTPGet.Port)
		if err != nil {
			return false, err.Error()
		}
		return probe.HTTP(ctx, p.HTTPGet, host, port, timeout, s.tls)
	case p.TCPSocket != nil:
		host, port, err := s.target(c, p.TCPSocket.Host, p.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		return probe.TCP(ctx, host, port, timeout)
	case p.GRPC != nil:
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		return probe.GRPC(ctx, s.pod.PodIP, int(p.GRPC.Port), service, timeout)
	}
	return false, "no supported probe handler"
}

// target is where a network probe connects: its host, by default the pod's address.
func (s *supervisor) target(c *manifest.Container, host string, port manifest.IntOrString) (string, int, error) {
	if host == "" {
		host = s.pod.PodIP
	}
	n, err := probe.Port(c, port)
	return host, n, err
}

func (s *supervisor) execProbe(ctx context.Context, c *manifest.Container, command []string) (bool, string) {
	env, vals, err := s.containerEnv(c)
	if err != nil {
		return false, err.Error()
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	path, argv, err := s.resolve(c, manifest.ExpandAll(command, vals), vals, attr)
	if err != nil {
		return false, err.Error()
	}
	var out bytes.Buffer
	w := &limited{&out} // one writer for both: exec.Cmd then makes one pipe, not two
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Dir: workingDir(c), Stdout: w, Stderr: w, SysProcAttr: attr}
	if err := cmd.Start(); err != nil {
		return false, err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- waitCmd(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return false, fmt.Sprintf("command %q timed out", strings.Join(command, " "))
	}
	output := strings.TrimSpace(out.String())
	if err != nil {
		return false, fmt.Sprintf("command %q exited: %v: %s", strings.Join(command, " "), err, output)
	}
	return true, output
}

// limited keeps at most probe.MaxOutput bytes.
type limited struct{ b *bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := probe.MaxOutput - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
