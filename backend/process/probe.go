package process

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// Probe kinds, as the kubelet names them in its messages.
const (
	startupProbe   = "Startup"
	livenessProbe  = "Liveness"
	readinessProbe = "Readiness"
)

// maxProbeOutput is how much of a probe's output or body is kept, as the kubelet does.
const maxProbeOutput = 10 << 10

// startProbes runs a container instance's probes until ctx ends (the instance exited).
// Without a startup probe the container counts as started at once; without a readiness
// probe it is ready once started.
func (s *supervisor) startProbes(ctx context.Context, i int, c *manifest.Container, proc Proc, started time.Time) {
	s.update(func(st *statusFile) {
		cs := &st.Containers[i]
		cs.Started = c.StartupProbe == nil
		cs.Ready = cs.Started && c.ReadinessProbe == nil
	})
	for kind, p := range map[string]*manifest.Probe{startupProbe: c.StartupProbe, livenessProbe: c.LivenessProbe, readinessProbe: c.ReadinessProbe} {
		if p != nil {
			go s.probeLoop(ctx, i, c, kind, p, proc, started)
		}
	}
}

// probeLoop is one kubelet probe worker: it probes at once and then every period,
// counts consecutive results, and acts when a threshold is reached.
func (s *supervisor) probeLoop(ctx context.Context, i int, c *manifest.Container, kind string, p *manifest.Probe, proc Proc, started time.Time) {
	period := time.Duration(p.PeriodSeconds) * time.Second
	successes, failures := 0, 0
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-time.After(period):
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
		ok, output := s.probe(ctx, c, p)
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
			if kind == readinessProbe {
				s.setProbeResult(i, func(cs *backend.ContainerStatus) { cs.Ready, cs.Message = true, "" })
			}
		case !ok && failures >= int(p.FailureThreshold):
			msg := fmt.Sprintf("%s probe failed: %s", kind, output)
			if kind == readinessProbe {
				s.setProbeResult(i, func(cs *backend.ContainerStatus) { cs.Ready, cs.Message = false, msg })
				continue
			}
			s.setProbeResult(i, func(cs *backend.ContainerStatus) {
				cs.Ready = false
				cs.Message = fmt.Sprintf("%s; Container %s failed %s probe, will be restarted", msg, c.Name, strings.ToLower(kind))
			})
			s.killInstance(proc, s.probeGrace(p))
			return
		}
	}
}

func (s *supervisor) containerStarted(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status.Containers[i].Started
}

func (s *supervisor) setProbeResult(i int, f func(cs *backend.ContainerStatus)) {
	s.update(func(st *statusFile) {
		if cs := &st.Containers[i]; cs.State == backend.StateRunning {
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

// killInstance stops one container instance: SIGTERM to its group, grace, SIGKILL.
// The container's run loop then restarts it as its restartPolicy says.
func (s *supervisor) killInstance(proc Proc, grace time.Duration) {
	proc.SignalGroup(syscall.SIGTERM)
	if !proc.waitGone(grace) {
		proc.SignalGroup(syscall.SIGKILL)
	}
}

// probe runs one check with the probe's timeout: exec in the container's environment,
// an HTTP GET (200-399 passes) or a TCP connect to the pod's address.
func (s *supervisor) probe(ctx context.Context, c *manifest.Container, p *manifest.Probe) (bool, string) {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.Exec != nil:
		return s.execProbe(ctx, c, p.Exec.Command)
	case p.HTTPGet != nil:
		return s.httpProbe(ctx, c, p.HTTPGet, timeout)
	case p.TCPSocket != nil:
		host := p.TCPSocket.Host
		if host == "" {
			host = s.pod.PodIP
		}
		port, err := resolvePort(c, p.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false, fmt.Sprintf("dial tcp %s:%d: %v", host, port, errors.Unwrap(err))
		}
		conn.Close()
		return true, ""
	}
	return false, "no supported probe handler (grpc is not supported by the process backend)"
}

func (s *supervisor) execProbe(ctx context.Context, c *manifest.Container, command []string) (bool, string) {
	env, vals, err := s.containerEnv(c)
	if err != nil {
		return false, err.Error()
	}
	argv := manifest.ExpandAll(command, vals)
	path, err := resolveCommand(argv[0], vals["PATH"])
	if err != nil {
		return false, err.Error()
	}
	var out bytes.Buffer
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Dir: workingDir(c), Stdout: &limited{&out}, Stderr: &limited{&out},
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := cmd.Start(); err != nil {
		return false, err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
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

func (s *supervisor) httpProbe(ctx context.Context, c *manifest.Container, h *manifest.HTTPGetAction, timeout time.Duration) (bool, string) {
	host := h.Host
	if host == "" {
		host = s.pod.PodIP
	}
	port, err := resolvePort(c, h.Port)
	if err != nil {
		return false, err.Error()
	}
	url := fmt.Sprintf("%s://%s%s", strings.ToLower(h.Scheme), net.JoinHostPort(host, strconv.Itoa(port)), h.Path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "kube-probe/1.28")
	req.Header.Set("Accept", "*/*")
	for _, hd := range h.HTTPHeaders {
		req.Header.Set(hd.Name, hd.Value)
	}
	client := &http.Client{Timeout: timeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) >= 10 || r.URL.Host != via[0].URL.Host {
				return http.ErrUseLastResponse // another host: the redirect itself counts
			}
			return nil
		}}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Sprintf("Get %q: %v", url, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

// resolvePort turns a probe's port (a number or a container port's name) into a number.
func resolvePort(c *manifest.Container, port manifest.IntOrString) (int, error) {
	if !port.IsString {
		return int(port.IntVal), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("port %q is not a named port of container %s", port.StrVal, c.Name)
}

// limited keeps at most maxProbeOutput bytes.
type limited struct{ b *bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := maxProbeOutput - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
