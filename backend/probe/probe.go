// Package probe holds the network checks of Kubernetes' httpGet and tcpSocket probes,
// shared by the backends that run probes (the process supervisor, the docker backend).
package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

// MaxOutput is how much of a probe's output or body is read, as the kubelet does.
const MaxOutput = 10 << 10

// HTTP runs an httpGet probe against host:port: 200-399 passes; a redirect to another
// host is not followed and counts as success.
func HTTP(ctx context.Context, h *manifest.HTTPGetAction, host string, port int, timeout time.Duration) (bool, string) {
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
				return http.ErrUseLastResponse
			}
			return nil
		}}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Sprintf("Get %q: %v", url, unwrap(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
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
