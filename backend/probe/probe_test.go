package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend/probe/probetls"
	"kgit.dev/kgit/manifest"
)

// target splits a test server's URL into the host and port a probe is given.
func target(t *testing.T, srv *httptest.Server) (string, int) {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(u.Host)
	n, _ := strconv.Atoi(port)
	return host, n
}

func TestHTTP(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError) // never reached: another host
	}))
	defer other.Close()
	var seen http.Header
	var seenHost, seenURI string
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		seen, seenHost, seenURI = r.Header.Clone(), r.Host, r.RequestURI
		w.Write([]byte(strings.Repeat("x", 3*MaxOutput)))
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/to-fail", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/fail", http.StatusFound) })
	mux.HandleFunc("/to-ok", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ok?from=redirect", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/x", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/fail-after-loop", http.StatusFound)
	})
	mux.HandleFunc("/fail-after-loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/continue", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host, port := target(t, srv)

	for _, tc := range []struct {
		path string
		pass bool
		msg  string
	}{
		{"/ok", true, ""},
		{"ok", true, ""},
		{"/fail", false, "HTTP probe failed with statuscode: 503"},
		{"/to-fail", false, "HTTP probe failed with statuscode: 503"},
		{"/to-ok", true, ""},
		{"/elsewhere", true, ""}, // another host: not followed, the redirect passes
		{"/loop", true, ""},      // ten redirects, then the last answer (a 302) counts
		{"/continue", true, ""},
		{"/missing", false, "HTTP probe failed with statuscode: 404"},
		{"/slow", false, "timeout"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			pass, msg := HTTP(context.Background(), &manifest.HTTPGetAction{Path: tc.path, Scheme: "HTTP"}, host, port, 500*time.Millisecond, probetls.Handshake)
			if pass != tc.pass || !strings.Contains(msg, tc.msg) {
				t.Errorf("HTTP(%s) = %v, %q; want %v, %q", tc.path, pass, msg, tc.pass, tc.msg)
			}
		})
	}

	h := &manifest.HTTPGetAction{Path: "/ok?a=b%20c", HTTPHeaders: []manifest.HTTPHeader{
		{Name: "x-custom", Value: "1"}, {Name: "X-Custom", Value: "2"}, {Name: "Host", Value: "web.example"}}}
	if pass, msg := HTTP(context.Background(), h, host, port, time.Second, probetls.Handshake); !pass {
		t.Fatalf("headers: %s", msg)
	}
	if got := seen.Values("X-Custom"); strings.Join(got, ",") != "1,2" {
		t.Errorf("X-Custom = %q, want both values", got)
	}
	if seen.Get("User-Agent") != UserAgent || seen.Get("Accept") != "*/*" || seenHost != "web.example" || seenURI != "/ok?a=b%20c" {
		t.Errorf("request: User-Agent %q, Accept %q, Host %q, URI %q", seen.Get("User-Agent"), seen.Get("Accept"), seenHost, seenURI)
	}
	ua := &manifest.HTTPGetAction{Path: "/ok", HTTPHeaders: []manifest.HTTPHeader{{Name: "User-Agent", Value: "mine"}}}
	if HTTP(context.Background(), ua, host, port, time.Second, probetls.Handshake); seen.Get("User-Agent") != "mine" {
		t.Errorf("User-Agent %q, want the probe's own", seen.Get("User-Agent"))
	}
	bad := &manifest.HTTPGetAction{Path: "/ok", HTTPHeaders: []manifest.HTTPHeader{{Name: "X", Value: "a\r\nInjected: 1"}}}
	if pass, msg := HTTP(context.Background(), bad, host, port, time.Second, probetls.Handshake); pass || !strings.Contains(msg, "invalid header") {
		t.Errorf("a header with a line break = %v, %q; want refused", pass, msg)
	}
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	host, port := target(t, srv)
	if pass, msg := HTTP(context.Background(), &manifest.HTTPGetAction{Path: "/healthz", Scheme: "HTTPS"}, host, port, time.Second, probetls.Handshake); !pass {
		t.Errorf("HTTPS with a self-signed certificate: %s (the kubelet does not verify)", msg)
	}
	if pass, msg := HTTP(context.Background(), &manifest.HTTPGetAction{Path: "/x", Scheme: "HTTPS"}, host, port, time.Second, probetls.Handshake); pass || !strings.Contains(msg, "418") {
		t.Errorf("HTTPS 418 = %v, %q", pass, msg)
	}
	if pass, msg := HTTP(context.Background(), &manifest.HTTPGetAction{Path: "/healthz", Scheme: "HTTP"}, host, port, time.Second, probetls.Handshake); pass {
		t.Errorf("plain HTTP to a TLS server passed: %q", msg)
	}
	if pass, msg := HTTP(context.Background(), &manifest.HTTPGetAction{Path: "/healthz", Scheme: "HTTPS"}, host, port, time.Second, nil); pass || !strings.Contains(msg, ErrNoTLS.Error()) {
		t.Errorf("HTTPS without TLS = %v, %q; want %q", pass, msg, ErrNoTLS)
	}
}

func TestHTTPRefusedAndMalformed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH\r\n\r\n"))
			c.Close()
		}
	}()
	if pass, msg := HTTP(context.Background(), &manifest.HTTPGetAction{Path: "/"}, "127.0.0.1", port, time.Second, probetls.Handshake); pass || !strings.Contains(msg, "malformed HTTP response") {
		t.Errorf("not HTTP = %v, %q", pass, msg)
	}
	l.Close()
	if pass, msg := HTTP(context.Background(), &manifest.HTTPGetAction{Path: "/"}, "127.0.0.1", port, time.Second, probetls.Handshake); pass || !strings.Contains(msg, "connection refused") {
		t.Errorf("closed port = %v, %q", pass, msg)
	}
	if pass, _ := TCP(context.Background(), "127.0.0.1", port, time.Second); pass {
		t.Error("TCP to a closed port passed")
	}
}

func TestNeedsTLS(t *testing.T) {
	get := func(scheme string) *manifest.HTTPGetAction { return &manifest.HTTPGetAction{Scheme: scheme} }
	for _, tc := range []struct {
		c    manifest.Container
		want bool
	}{
		{manifest.Container{}, false},
		{manifest.Container{ReadinessProbe: &manifest.Probe{HTTPGet: get("HTTP")}}, false},
		{manifest.Container{LivenessProbe: &manifest.Probe{HTTPGet: get("HTTPS")}}, true},
		{manifest.Container{StartupProbe: &manifest.Probe{HTTPGet: get("https")}}, true},
		{manifest.Container{Lifecycle: &manifest.Lifecycle{PostStart: &manifest.LifecycleHandler{HTTPGet: get("HTTPS")}}}, true},
		{manifest.Container{Lifecycle: &manifest.Lifecycle{PreStop: &manifest.LifecycleHandler{HTTPGet: get("")}}}, false},
	} {
		if got := NeedsTLS(&manifest.PodSpec{Containers: []manifest.Container{tc.c}}); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.c, got, tc.want)
		}
		if got := NeedsTLS(&manifest.PodSpec{InitContainers: []manifest.Container{tc.c}}); got != tc.want {
			t.Errorf("init %+v: %v, want %v", tc.c, got, tc.want)
		}
	}
}
