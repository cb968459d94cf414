package ingress

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/manifest"
)

// Run is the controller: `kgit __ingress DIR`. It serves the configuration in dir until
// it is told to stop, no Ingress is left after a reload, or dir is removed. It outlives
// the CLI that started it.
func Run(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	c := &controller{dir: dir, listeners: map[string]*listener{},
		// One connection per request: each one goes through the Service's proxy's choice
		// of a ready pod, and none is left on a pod that has begun to stop.
		transport: &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
	defer c.closeAll()
	if err := c.load(); err != nil {
		return err
	}
	if c.status.Listen.HTTP == "" && c.status.Listen.HTTPS == "" {
		return errors.New(c.status.Error)
	}
	proxy.Listening(c.status.Error)
	// Nothing is polled: the controller sleeps until a request, a reload or a check,
	// every 30 s, that its folder is still there (a root removed behind kgit's back).
	check := time.NewTicker(30 * time.Second)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			if err := c.load(); err != nil {
				fmt.Fprintf(os.Stderr, "kgit ingress: reload: %v\n", err)
			}
			if len(c.table.Load().served) == 0 {
				return nil
			}
		case <-check.C:
			if _, err := os.Stat(appsDir(dir)); errors.Is(err, fs.ErrNotExist) {
				return nil
			}
		}
	}
}

type controller struct {
	dir       string
	table     atomic.Pointer[table]
	transport http.RoundTripper
	mu        sync.Mutex
	listeners map[string]*listener // by "http "+addr or "https "+addr
	status    Status
}

// load reads the configuration, makes its table current, listens where it says, and
// writes the status.
func (c *controller) load() error {
	apps, err := loadApps(c.dir)
	if err != nil {
		return err
	}
	var listen Listen
	if data, err := os.ReadFile(filepath.Join(c.dir, "listen.json")); err != nil || json.Unmarshal(data, &listen) != nil {
		listen = Listen{HTTP: DefaultHTTPAddr, HTTPS: DefaultHTTPSAddr}
	}
	t := build(Served(apps))
	c.table.Store(t)
	want := map[string]bool{"http " + listen.HTTP: true}
	if len(t.certs) > 0 {
		want["https "+listen.HTTPS] = true
	}
	c.status = Status{PID: os.Getpid(), Served: t.served}
	var errs []string
	for key := range want {
		addr, err := c.listen(key)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		scheme, _, _ := strings.Cut(key, " ")
		if scheme == "http" {
			c.status.Listen.HTTP = addr
		} else {
			c.status.Listen.HTTPS = addr
		}
	}
	c.mu.Lock()
	for key, l := range c.listeners {
		if !want[key] {
			l.srv.Close()
			delete(c.listeners, key)
		}
	}
	c.mu.Unlock()
	c.status.Error = strings.Join(errs, "; ")
	data, _ := json.Marshal(c.status)
	_, err = writeFile(filepath.Join(c.dir, "status.json"), data)
	return err
}

// listen serves key ("http ADDR" or "https ADDR") unless it already does, and returns
// the address it listens on (its port chosen when ADDR's is 0).
func (c *controller) listen(key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.listeners[key]; l != nil {
		return l.addr, nil
	}
	scheme, addr, _ := strings.Cut(key, " ")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s: %w", scheme, err)
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 30 * time.Second, ErrorLog: nil}
	if scheme == "https" {
		l = tls.NewListener(l, &tls.Config{GetCertificate: c.certificate, NextProtos: []string{"http/1.1"}})
	}
	c.listeners[key] = &listener{srv: srv, addr: l.Addr().String()}
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), nil
}

// listener is a server and the address it listens on.
type listener struct {
	srv  *http.Server
	addr string
}

func (c *controller) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.listeners {
		l.srv.Close()
	}
}

// certificate picks the certificate of the host a client names (SNI), else the first.
func (c *controller) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	certs := c.table.Load().certs
	if len(certs) == 0 {
		return nil, errors.New("no certificate")
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	for _, ce := range certs {
		for _, h := range ce.hosts {
			if hostMatches(h, name) {
				return ce.cert, nil
			}
		}
	}
	return certs[0].cert, nil
}

// ServeHTTP routes a request by its host and path to a Service's proxy.
func (c *controller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	b := c.table.Load().match(strings.TrimSuffix(host, "."), r.URL.Path)
	switch {
	case b == nil:
		http.Error(w, "404 page not found: no Ingress rule matches "+host+r.URL.Path+" (kgit ingress controller)", http.StatusNotFound)
		return
	case b.Addr == "":
		http.Error(w, "503 service unavailable: "+b.Service+": "+b.Err, http.StatusServiceUnavailable)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: b.Addr})
			pr.Out.Host = pr.In.Host // the pod sees the host the client asked for, as behind ingress-nginx
			pr.SetXForwarded()
		},
		Transport: c.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "502 bad gateway: service "+b.Service+": "+err.Error(), http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
}

// table is the routes of every served Ingress, in precedence order.
type table struct {
	rules    []route
	defaults []defaultRoute
	certs    []certEntry
	served   []string
}

type route struct {
	Rule
	ingress int // index in served order: earlier wins ties
}

type defaultRoute struct {
	hosts   []string // the hosts of its Ingress's rules
	backend *Backend
}

type certEntry struct {
	hosts []string
	cert  *tls.Certificate
}

func build(ings []served) *table {
	t := &table{}
	for i, in := range ings {
		t.served = append(t.served, ServedKey(in.App, in.Namespace, in.Name))
		var hosts []string
		for _, r := range in.Rules {
			t.rules = append(t.rules, route{Rule: r, ingress: i})
			hosts = append(hosts, r.Host)
		}
		if in.Default != nil {
			t.defaults = append(t.defaults, defaultRoute{hosts: hosts, backend: in.Default})
		}
		for _, tl := range in.TLS {
			cert, err := tls.X509KeyPair([]byte(tl.Cert), []byte(tl.Key))
			if err != nil {
				fmt.Fprintf(os.Stderr, "kgit ingress: %s/%s: TLS certificate: %v\n", in.Namespace, in.Name, err)
				continue
			}
			t.certs = append(t.certs, certEntry{hosts: tl.Hosts, cert: &cert})
		}
	}
	return t
}

// match finds the backend of a request, as the Ingress specification orders rules: a
// host matched exactly before one matched by a wildcard before a rule for every host;
// then the longest path; Exact before Prefix at the same length; then the older
// Ingress. With no rule, the default backend of an Ingress with a rule for the host,
// else the first default backend.
func (t *table) match(host, path string) *Backend {
	if path == "" {
		path = "/"
	}
	var best *route
	var bestScore [3]int
	for i := range t.rules {
		r := &t.rules[i]
		hostRank := 0
		switch {
		case r.Host == "":
			hostRank = 1
		case r.Host == host:
			hostRank = 3
		case hostMatches(r.Host, host):
			hostRank = 2
		default:
			continue
		}
		if !pathMatches(r.PathType, r.Path, path) {
			continue
		}
		exact := 0
		if r.PathType == manifest.PathExact {
			exact = 1
		}
		score := [3]int{hostRank, len(strings.TrimSuffix(r.Path, "/")), exact}
		if best == nil || less(bestScore, score) {
			best, bestScore = r, score
		}
	}
	if best != nil {
		return &best.Backend
	}
	for _, d := range t.defaults {
		for _, h := range d.hosts {
			if h != "" && hostMatches(h, host) {
				return d.backend
			}
		}
	}
	if len(t.defaults) > 0 {
		return t.defaults[0].backend
	}
	return nil
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// hostMatches: an exact host, or a wildcard "*.example.com" matching exactly one
// label in front (a.example.com, not example.com nor a.b.example.com).
func hostMatches(pattern, host string) bool {
	if pattern == "" {
		return true
	}
	pattern = strings.ToLower(pattern)
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		label, rest, found := strings.Cut(host, ".")
		return found && label != "" && "."+rest == suffix
	}
	return pattern == host
}

// pathMatches is the Ingress specification's matching: Exact is the whole path, case
// sensitive; Prefix (and ImplementationSpecific here) matches element by element split
// by "/", so /foo matches /foo and /foo/bar but not /foobar, and a trailing slash is
// ignored.
func pathMatches(pathType, rule, path string) bool {
	if pathType == manifest.PathExact {
		return path == rule
	}
	p := strings.TrimRight(rule, "/")
	return p == "" || path == p || strings.HasPrefix(path, p+"/")
}
