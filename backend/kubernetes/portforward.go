package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/streaming/pkg/httpstream"

	"kgit.dev/kgit/backend"
)

var _ backend.PortForwarder = (*Target)(nil)

// The port-forward protocol's stream headers (k8s.io/api/core/v1's StreamType,
// PortHeader and PortForwardRequestIDHeader).
const (
	headerStreamType = "streamType"
	headerPort       = "port"
	headerRequestID  = "requestID"
)

var requestID atomic.Int64

// DialPod connects to a TCP port of a pod through the API server's pods/portforward
// subresource (the node's kubelet connects to the port), as kubectl port-forward does:
// SPDY tunnelled over a WebSocket, falling back to plain SPDY for a server that does not
// upgrade to WebSockets. Each connection is its own upgraded request, closed with it.
func (t *Target) DialPod(ctx context.Context, p *backend.Pod, port int) (net.Conn, error) {
	u, err := t.podURL(p, "portforward", nil)
	if err != nil {
		return nil, err
	}
	transport, upgrader, err := spdy.RoundTripperFor(t.rest)
	if err != nil {
		return nil, err
	}
	var dialer httpstream.Dialer = spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	tunnel, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, t.rest)
	if err != nil {
		return nil, err
	}
	dialer = portforward.NewFallbackDialerForStreaming(tunnel, dialer, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	conn, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", p.Namespace, p.Name, t.wrap(err))
	}
	h := http.Header{}
	h.Set(headerStreamType, "error")
	h.Set(headerPort, strconv.Itoa(port))
	h.Set(headerRequestID, strconv.FormatInt(requestID.Add(1), 10))
	errStream, err := conn.CreateStream(h)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	errStream.Close() // nothing is written on it
	h.Set(headerStreamType, "data")
	data, err := conn.CreateStream(h)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	c := &podConn{conn: conn, data: data, pod: p.Namespace + "/" + p.Name, port: port}
	go c.watchErrors(errStream)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	c.stop = stop
	return c, nil
}

// podConn is one forwarded connection: the data stream of an upgraded port-forward
// request, as a net.Conn. What the kubelet reports on the error stream (it could not
// connect to the port, ...) ends the connection and is returned by Read.
type podConn struct {
	conn httpstream.Connection
	data httpstream.Stream
	pod  string
	port int
	stop func() bool

	mu     sync.Mutex
	err    error // from the error stream
	closed bool
}

func (c *podConn) watchErrors(s io.Reader) {
	msg, err := io.ReadAll(s)
	c.mu.Lock()
	switch {
	case len(msg) > 0:
		c.err = fmt.Errorf("an error occurred forwarding to port %d of pod %s: %s", c.port, c.pod, strings.TrimSpace(string(msg)))
	case err != nil && !errors.Is(err, io.EOF):
		c.err = fmt.Errorf("forwarding to port %d of pod %s: %w", c.port, c.pod, err)
	}
	failed := c.err != nil
	c.mu.Unlock()
	if failed {
		_ = c.data.Reset()
	}
}

func (c *podConn) Read(b []byte) (int, error) {
	n, err := c.data.Read(b)
	if err != nil {
		c.mu.Lock()
		if c.err != nil {
			err = c.err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *podConn) Write(b []byte) (int, error) { return c.data.Write(b) }

// CloseWrite tells the pod's side that nothing more will be sent.
func (c *podConn) CloseWrite() error { return c.data.Close() }

func (c *podConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	if c.stop != nil {
		c.stop()
	}
	_ = c.data.Reset()
	return c.conn.Close()
}

type podAddr string

func (a podAddr) Network() string { return "portforward" }
func (a podAddr) String() string  { return string(a) }

func (c *podConn) LocalAddr() net.Addr { return podAddr("kgit") }
func (c *podConn) RemoteAddr() net.Addr {
	return podAddr(c.pod + ":" + strconv.Itoa(c.port))
}

// Deadlines are not supported by the streams underneath.
func (c *podConn) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (c *podConn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (c *podConn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }
