// Package engine is a small client of the Docker Engine API (and of Podman's compatible
// one): HTTP/1.1 over the engine's socket, written on package net rather than net/http.
// The docker pods' tender links it and runs for as long as their app does; moby's
// client, with net/http and OpenTelemetry, cost that process 2.5 MB of RSS by merely
// being linked. The request and response bodies are moby's API types.
package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Versions of the API this client speaks: it asks for the engine's own when that is
// older than maxVersion, and refuses one older than minVersion (as moby's client does).
const (
	maxVersion = "1.52"
	minVersion = "1.40"
)

// TLS, when set, secures a connection to an engine that DOCKER_CERT_PATH and
// DOCKER_TLS_VERIFY say speaks TLS (package enginetls sets it; kgit's binary links it,
// the tender does not).
var TLS func(conn net.Conn, serverName, certPath string, verify bool) (net.Conn, error)

// Client talks to one engine. Each request has a connection of its own.
type Client struct {
	host          string // DOCKER_HOST's form
	network, addr string // how to dial it
	certPath      string // TLS: DOCKER_CERT_PATH ("" with verify: the default folder)
	tls, verify   bool

	mu         sync.Mutex
	version    string // the API version of the requests' paths
	negotiated bool   // version is settled (negotiated, or DOCKER_API_VERSION)
}

// Error is the engine's answer to a request it refused.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return "Error response from daemon: " + e.Message }

// NotFound reports whether err is the engine's "not found" (404).
func NotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == 404
}

// FromEnv is a client of the engine that DOCKER_HOST names (else DefaultHost), with
// DOCKER_API_VERSION, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY read as the docker CLI
// reads them.
func FromEnv() (*Client, error) {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = DefaultHost
	}
	c, err := New(host)
	if err != nil {
		return nil, err
	}
	if v := os.Getenv("DOCKER_API_VERSION"); v != "" {
		c.version, c.negotiated = strings.TrimPrefix(v, "v"), true
	}
	if p, verify := os.Getenv("DOCKER_CERT_PATH"), os.Getenv("DOCKER_TLS_VERIFY") != ""; (p != "" || verify) && c.network == "tcp" {
		if TLS == nil {
			return nil, fmt.Errorf("the engine at %s speaks TLS (DOCKER_CERT_PATH, DOCKER_TLS_VERIFY), which this program does not link", host)
		}
		if p == "" {
			home, _ := os.UserHomeDir()
			p = filepath.Join(home, ".docker")
		}
		c.tls, c.certPath, c.verify = true, p, verify
	}
	return c, nil
}

// New is a client of the engine at host: unix:///path, tcp://host:port (or
// npipe:////./pipe/name on Windows).
func New(host string) (*Client, error) {
	scheme, addr, ok := strings.Cut(host, "://")
	if !ok || addr == "" {
		return nil, fmt.Errorf("engine address %q: want unix:///path or tcp://host:port", host)
	}
	c := &Client{host: host, version: maxVersion}
	switch scheme {
	case "unix":
		c.network, c.addr = "unix", addr
	case "tcp", "http":
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(strings.TrimSuffix(addr, "/"), "2375")
		}
		c.network, c.addr = "tcp", strings.TrimSuffix(addr, "/")
	case "npipe":
		c.network, c.addr = "npipe", addr
	default:
		return nil, fmt.Errorf("engine address %q: the scheme %q is not one kgit speaks (unix, tcp, npipe)", host, scheme)
	}
	return c, nil
}

// Host is the engine's address, as given.
func (c *Client) Host() string { return c.host }

// TLS reports whether the engine speaks TLS.
func (c *Client) TLS() bool { return c.tls }

// Version is the API version the requests ask for: the engine's own, once negotiated,
// when it is older than this client's.
func (c *Client) Version() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// Ping asks the engine whether it answers, and settles the API version by its answer.
func (c *Client) Ping(ctx context.Context) error {
	resp, err := c.roundTrip(ctx, "GET", "/_ping", nil, request{unversioned: true})
	if err != nil {
		return err
	}
	resp.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.negotiated {
		return nil
	}
	v := resp.header.Get("Api-Version")
	if v == "" {
		v = minVersion // engines before 1.25 did not say; moby's client assumes as little
	}
	if Before(v, minVersion) {
		return fmt.Errorf("the engine speaks API %s, older than the least this client speaks, %s", v, minVersion)
	}
	if Before(v, maxVersion) {
		c.version = v
	}
	c.negotiated = true
	return nil
}

// Before reports whether API version v is older than w ("1.41" < "1.45").
func Before(v, w string) bool {
	parse := func(s string) (int, int) {
		maj, min, _ := strings.Cut(s, ".")
		a, _ := strconv.Atoi(maj)
		b, _ := strconv.Atoi(min)
		return a, b
	}
	va, vb := parse(v)
	wa, wb := parse(w)
	return va < wa || va == wa && vb < wb
}

// request is what a call sends beyond its method and path.
type request struct {
	query       url.Values
	header      map[string]string
	body        []byte // JSON unless contentType says otherwise
	contentType string
	upgrade     bool // hijack the connection (exec start)
	unversioned bool
}

// response is an answer whose body is read from the connection.
type response struct {
	status int
	header textproto.MIMEHeader
	body   io.Reader
	conn   net.Conn
	br     *bufio.Reader
	stop   func() bool // ends the watch on the request's context
}

func (r *response) Read(p []byte) (int, error) { return r.body.Read(p) }

// Close ends the answer and its connection.
func (r *response) Close() error {
	r.stop()
	return r.conn.Close()
}

// negotiate settles the API version before the first versioned request, as moby's
// client does; an engine that does not answer is left to fail the request itself.
func (c *Client) negotiate(ctx context.Context) {
	c.mu.Lock()
	done := c.negotiated
	c.mu.Unlock()
	if !done {
		_ = c.Ping(ctx)
	}
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	if c.network == "npipe" {
		return dialPipe(ctx, c.addr)
	}
	conn, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(ctx, c.network, c.addr)
	if err != nil {
		return nil, err
	}
	if c.tls {
		host, _, _ := net.SplitHostPort(c.addr)
		if conn, err = TLS(conn, host, c.certPath, c.verify); err != nil {
			return nil, err
		}
	}
	return conn, nil
}

// roundTrip sends one request on a connection of its own and reads the answer's head.
// The connection is closed when the context ends: a stream that is read until then
// ends with the context's error. An answer of 400 or more is an *Error.
func (c *Client) roundTrip(ctx context.Context, method, path string, query url.Values, r request) (*response, error) {
	if !r.unversioned {
		c.negotiate(ctx)
		path = "/v" + c.Version() + path
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the engine at %s: %w", c.host, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*response, error) {
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: kgit\r\n", method, path)
	if r.upgrade {
		head.WriteString("Connection: Upgrade\r\nUpgrade: tcp\r\n")
	} else {
		head.WriteString("Connection: close\r\n")
	}
	for k, v := range r.header {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		fmt.Fprintf(&head, "Content-Type: %s\r\nContent-Length: %d\r\n", ct, len(r.body))
	} else if method == "POST" || method == "PUT" {
		head.WriteString("Content-Length: 0\r\n")
	}
	head.WriteString("\r\n")
	head.Write(r.body)
	if _, err := conn.Write(head.Bytes()); err != nil {
		return fail(err)
	}
	br := bufio.NewReader(conn)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return fail(fmt.Errorf("the engine at %s: %w", c.host, err))
	}
	_, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if err != nil || !strings.HasPrefix(line, "HTTP/1.") {
		return fail(fmt.Errorf("the engine at %s answered %q", c.host, line))
	}
	header, err := tp.ReadMIMEHeader()
	if err != nil {
		return fail(fmt.Errorf("the engine at %s: %w", c.host, err))
	}
	resp := &response{status: status, header: header, conn: conn, br: br, stop: stop}
	switch {
	case status == 101 || status == 204 || status == 304 || method == "HEAD":
		resp.body = br // hijacked: the rest of the connection; else nothing follows
		if status != 101 {
			resp.body = bytes.NewReader(nil)
		}
	case strings.EqualFold(header.Get("Transfer-Encoding"), "chunked"):
		resp.body = &chunked{r: br}
	case header.Get("Content-Length") != "":
		n, err := strconv.ParseInt(header.Get("Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return fail(fmt.Errorf("the engine at %s: Content-Length %q", c.host, header.Get("Content-Length")))
		}
		resp.body = io.LimitReader(br, n)
	default:
		resp.body = br // until the engine closes the connection
	}
	if status >= 400 {
		defer resp.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.body, 64<<10))
		var msg struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &msg) != nil || msg.Message == "" {
			msg.Message = strings.TrimSpace(string(data))
		}
		if msg.Message == "" {
			msg.Message = fmt.Sprintf("%d %s", status, strings.TrimSpace(rest[len(code):]))
		}
		return nil, &Error{Status: status, Message: msg.Message}
	}
	return resp, nil
}

// call sends a request with in (when not nil) as its JSON body and decodes the answer
// into out (when not nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var r request
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		r.body = data
	}
	resp, err := c.roundTrip(ctx, method, path, query, r)
	if err != nil {
		return err
	}
	defer resp.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp)
	} else {
		err = json.NewDecoder(resp).Decode(out)
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// chunked reads a body in HTTP/1.1's chunked transfer coding.
type chunked struct {
	r    *bufio.Reader
	left int64 // of the current chunk
	done bool
	err  error
}

func (c *chunked) Read(p []byte) (int, error) {
	for c.left == 0 && !c.done && c.err == nil {
		c.next()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.done {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		err = c.crlf()
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	c.err = err
	return n, err
}

// next reads a chunk's size line (the last chunk's trailers too).
func (c *chunked) next() {
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.err = io.ErrUnexpectedEOF
		return
	}
	size, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
	n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
	if err != nil || n < 0 {
		c.err = fmt.Errorf("malformed chunk size %q", line)
		return
	}
	if n == 0 {
		for { // trailers, to the blank line
			line, err := c.r.ReadString('\n')
			if err != nil || strings.TrimRight(line, "\r\n") == "" {
				break
			}
		}
		c.done = true
		return
	}
	c.left = n
}

func (c *chunked) crlf() error {
	b, err := c.r.ReadString('\n')
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	if strings.TrimRight(b, "\r\n") != "" {
		return fmt.Errorf("malformed chunk end")
	}
	return nil
}
