// Package probe holds the network checks of Kubernetes' httpGet and tcpSocket probes,
// shared by the backends that run probes (the process supervisor, the docker backend).
//
// The HTTP check speaks HTTP/1.1 itself instead of using net/http, and takes TLS as a
// parameter (package probetls): the supervisor of every pod links this package, and
// net/http and crypto/tls would add about 2 MB to each supervisor's resident memory.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

// MaxOutput is how much of a probe's output or body is read, as the kubelet does.
const MaxOutput = 10 << 10

// UserAgent is the kubelet's, so that an application that tells probes apart by it sees
// what it would see in Kubernetes.
const UserAgent = "kube-probe/1.28"

// maxRedirects is how many redirects to the same host are followed, as net/http does.
const maxRedirects = 10

// Handshake secures a probe's connection for an HTTPS probe.
type Handshake func(ctx context.Context, conn net.Conn, serverName string) (net.Conn, error)

// HTTP runs an httpGet probe against host:port: 200-399 passes; a redirect to the same
// host is followed (up to 10), one to another host is not and counts as success. HTTPS
// needs tls; without it an HTTPS probe fails and says why.
func HTTP(ctx context.Context, h *manifest.HTTPGetAction, host string, port int, timeout time.Duration, tls Handshake) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := newRequest(h, net.JoinHostPort(host, strconv.Itoa(port)), tls)
	if err != nil {
		return false, err.Error()
	}
	for redirects := 0; ; redirects++ {
		resp, err := req.do(ctx)
		if err != nil {
			return false, fmt.Sprintf("Get %q: %v", req.url(), unwrap(err))
		}
		if resp.isRedirect() && redirects < maxRedirects {
			next, err := req.redirect(resp.location)
			if err != nil {
				return false, fmt.Sprintf("Get %q: %v", req.url(), err)
			}
			if next.host == req.host {
				req = next
				continue
			}
		}
		if resp.code >= 200 && resp.code < 400 {
			return true, ""
		}
		return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.code)
	}
}

// TCP runs a tcpSocket probe: it passes when host:port accepts a connection.
func TCP(ctx context.Context, host string, port int, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false, fmt.Sprintf("dial tcp %s:%d: %v", host, port, unwrap(err))
	}
	conn.Close()
	return true, ""
}

func unwrap(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// Port turns a probe's port (a number or the name of a container port) into a number.
func Port(c *manifest.Container, port manifest.IntOrString) (int, error) {
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

// NeedsTLS reports whether a probe or lifecycle hook of the pod speaks HTTPS: its
// prober must then link a Handshake (kgit's binary does; its small helpers do not).
func NeedsTLS(spec *manifest.PodSpec) bool {
	https := func(h *manifest.HTTPGetAction) bool { return h != nil && strings.EqualFold(h.Scheme, "HTTPS") }
	for _, c := range append(append([]manifest.Container(nil), spec.InitContainers...), spec.Containers...) {
		for _, p := range []*manifest.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if p != nil && https(p.HTTPGet) {
				return true
			}
		}
		if l := c.Lifecycle; l != nil && (l.PostStart != nil && https(l.PostStart.HTTPGet) || l.PreStop != nil && https(l.PreStop.HTTPGet)) {
			return true
		}
	}
	return false
}
