package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

// maxHead bounds what is read of a response's status line and headers.
const maxHead = 1 << 20

// request is one GET of an httpGet probe, as the kubelet builds it.
type request struct {
	scheme     string // http or https
	host       string // the URL's host (host:port), as a redirect is compared against
	uri        string // the request target: path and query
	hostHeader string // the probe's Host header, if it sets one
	header     textproto.MIMEHeader
	tls        Handshake
}

// response is what a probe needs of an answer.
type response struct {
	code     int
	location string
}

// ErrNoTLS is an HTTPS request's failure where no TLS was linked. The process backend
// gives a pod whose probes declare HTTPS kgit's own binary as its supervisor, so only an
// HTTP probe redirected to HTTPS meets it.
var ErrNoTLS = errors.New("HTTPS needs TLS, which kgit-supervisor does not link: declare the probe's scheme HTTPS and kgit supervises the pod with its own binary")

func newRequest(h *manifest.HTTPGetAction, hostport string, tls Handshake) (*request, error) {
	scheme := strings.ToLower(h.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("unsupported scheme %q", h.Scheme)
	}
	path := h.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + hostport + path)
	if err != nil {
		return nil, err
	}
	r := &request{scheme: scheme, host: u.Host, uri: u.RequestURI(), header: textproto.MIMEHeader{}, tls: tls}
	for _, hd := range h.HTTPHeaders {
		if strings.ContainsAny(hd.Name, "\r\n: ") || strings.ContainsAny(hd.Value, "\r\n") {
			return nil, fmt.Errorf("invalid header %q", hd.Name)
		}
		if strings.EqualFold(hd.Name, "Host") {
			r.hostHeader = hd.Value
			continue
		}
		r.header.Add(hd.Name, hd.Value)
	}
	if _, ok := r.header["User-Agent"]; !ok {
		r.header.Set("User-Agent", UserAgent)
	}
	if _, ok := r.header["Accept"]; !ok {
		r.header.Set("Accept", "*/*")
	}
	return r, nil
}

func (r *request) url() string { return r.scheme + "://" + r.host + r.uri }

// redirect is the request that follows a redirect to location. Like net/http, it keeps
// the headers, and the Host header only when location is relative.
func (r *request) redirect(location string) (*request, error) {
	base, err := url.Parse(r.url())
	if err != nil {
		return nil, err
	}
	u, err := base.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("failed to parse Location header %q: %w", location, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported protocol scheme %q", u.Scheme)
	}
	next := &request{scheme: u.Scheme, host: u.Host, uri: u.RequestURI(), header: r.header, tls: r.tls}
	if loc, err := url.Parse(location); err == nil && !loc.IsAbs() {
		next.hostHeader = r.hostHeader
	}
	return next, nil
}

// dialAddress is host:port to connect to: the URL's host with the scheme's default port
// when it names none.
func (r *request) dialAddress() string {
	if _, _, err := net.SplitHostPort(r.host); err == nil {
		return r.host
	}
	port := "80"
	if r.scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(r.host, "[]"), port)
}

// do sends the request on a connection of its own (the kubelet disables keep-alive) and
// reads the response's head; the body is never needed.
func (r *request) do(ctx context.Context) (*response, error) {
	if r.scheme == "https" && r.tls == nil {
		return nil, ErrNoTLS
	}
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", r.dialAddress())
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var conn net.Conn = raw
	if r.scheme == "https" {
		name, _, err := net.SplitHostPort(r.dialAddress())
		if err != nil {
			return nil, err
		}
		if conn, err = r.tls(ctx, raw, name); err != nil {
			return nil, err
		}
	}
	if err := r.write(conn); err != nil {
		return nil, err
	}
	return readResponse(bufio.NewReader(io.LimitReader(conn, maxHead)))
}

func (r *request) write(w io.Writer) error {
	host := r.hostHeader
	if host == "" {
		host = r.host
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "GET %s HTTP/1.1\r\nHost: %s\r\n", r.uri, host)
	for name, values := range r.header {
		for _, v := range values {
			fmt.Fprintf(bw, "%s: %s\r\n", name, v)
		}
	}
	bw.WriteString("Connection: close\r\n\r\n")
	return bw.Flush()
}

// readResponse reads a status line and headers, skipping informational (1xx) heads.
func readResponse(br *bufio.Reader) (*response, error) {
	tp := textproto.NewReader(br)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		proto, status, _ := strings.Cut(line, " ")
		codeText, _, _ := strings.Cut(status, " ")
		code, err := strconv.Atoi(codeText)
		if !strings.HasPrefix(proto, "HTTP/1.") || len(codeText) != 3 || err != nil || code < 100 {
			return nil, fmt.Errorf("malformed HTTP response %q", line)
		}
		head, err := tp.ReadMIMEHeader()
		if err != nil {
			return nil, err
		}
		if code < 200 && code != 101 {
			continue
		}
		return &response{code: code, location: head.Get("Location")}, nil
	}
}

// isRedirect reports whether net/http's client would follow the response.
func (r *response) isRedirect() bool {
	switch r.code {
	case 301, 302, 303, 307, 308:
		return r.location != ""
	}
	return false
}
