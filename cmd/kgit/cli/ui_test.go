package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend/memory"
	"kgit.dev/kgit/cmd/kgit/cli/webui"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// uiApps syncs n apps of replicas pods each (a Deployment, a Service, a ConfigMap and a
// Secret the pods use) onto a memory backend.
func uiApps(t testing.TB, n, replicas int) (*globals, *memory.Backend) {
	t.Helper()
	b := memory.New()
	g := &globals{stateDir: t.TempDir(), stdout: io.Discard, stderr: io.Discard}
	ctx := context.Background()
	for i := range n {
		app := fmt.Sprintf("app-%03d", i)
		y := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: example.com/web:v1
        command: [sleep, "3600"]
        envFrom: [{configMapRef: {name: settings}}, {secretRef: {name: creds}}]
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {MODE: production}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {PASSWORD: hunter2}
`, replicas)
		objs, err := manifest.Parse([]manifest.File{{Path: "app.yaml", Data: []byte(y)}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := g.syncer(ctx, &site{name: b.Name(), backend: b}, app, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(ctx, objs, reconcile.SyncOptions{Commit: strings.Repeat(fmt.Sprintf("%x", i%16), 40), Prune: true}); err != nil {
			t.Fatal(err)
		}
	}
	return g, b
}

func get(t testing.TB, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestUIServer(t *testing.T) {
	g, b := uiApps(t, 2, 3)
	srv := webui.New(newUISource(g, b), webui.Options{Interval: 50 * time.Millisecond, Loopback: true})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	req := func(method, path string) *http.Request {
		r, _ := http.NewRequest(method, ts.URL+path, nil)
		return r
	}
	if code, body := get(t, ts.Client(), req("GET", "/api/apps")); code != 200 || !strings.Contains(body, `"name":"app-001"`) || !strings.Contains(body, `"podsReady":3`) {
		t.Errorf("/api/apps: %d %s", code, body)
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		if code, _ := get(t, ts.Client(), req(m, "/api/apps")); code != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", m, code)
		}
	}
	r := req("GET", "/apps")
	r.Host = "attacker.example:80"
	if code, _ := get(t, ts.Client(), r); code != http.StatusForbidden {
		t.Errorf("a foreign Host on loopback: %d, want 403", code)
	}
	for _, path := range []string{"/apps", "/apps/app-000", "/apps/app-000/objects/Deployment/web", "/apps/app-000/history", "/apps/app-000/diff", "/apps/app-000/events", "/events"} {
		if code, body := get(t, ts.Client(), req("GET", path)); code != 200 || !strings.Contains(body, "/static/app.js") {
			t.Errorf("%s: %d", path, code)
		}
	}
	for _, path := range []string{"/api/apps/app-000", "/api/apps/app-000/objects/Secret/creds", "/api/apps/app-000/objects/Pod/" + firstPod(t, b), "/api/apps/app-000/diff"} {
		code, body := get(t, ts.Client(), req("GET", path))
		if code != 200 || strings.Contains(body, "hunter2") {
			t.Errorf("%s: %d, or a Secret value shown: %s", path, code, body)
		}
	}
	if code, body := get(t, ts.Client(), req("GET", "/api/apps/app-000/objects/Secret/creds")); !strings.Contains(body, "(secret value)") || !strings.Contains(body, "used by") && !strings.Contains(body, `"usedBy":["web-`) {
		t.Errorf("the Secret's page: %d %s", code, body)
	}
	if code, _ := get(t, ts.Client(), req("GET", "/api/apps/nope")); code != 404 {
		t.Errorf("an unknown app: %d, want 404", code)
	}

	// Five pages follow over server-sent events: the backend is still read once per
	// interval, not once per page.
	before := srv.Reads()
	for range 5 {
		r := req("GET", "/api/stream?path=/apps/app-000")
		resp, err := ts.Client().Do(r.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		if !strings.HasPrefix(line, "retry:") || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %q %s", line, resp.Header.Get("Content-Type"))
		}
	}
	start := time.Now()
	time.Sleep(500 * time.Millisecond)
	reads := srv.Reads() - before
	if max := int(time.Since(start)/(50*time.Millisecond)) + 2; reads > max || reads < 2 {
		t.Errorf("%d reads in %s for 5 pages: want one per 50ms interval (at most %d)", reads, time.Since(start), max)
	}
}

func firstPod(t testing.TB, b *memory.Backend) string {
	pods, err := b.ListPods(context.Background(), map[string]string{"kgit.dev/app": "app-000"})
	if err != nil || len(pods) == 0 {
		t.Fatalf("no pods: %v", err)
	}
	return pods[0].Name
}

func TestUIRefusesOpenAddressWithoutToken(t *testing.T) {
	g := &globals{stdout: io.Discard, stderr: io.Discard}
	err := runUI(context.Background(), g, &uiFlags{addr: "0.0.0.0:0", interval: time.Second})
	if exitCode(err) != ExitInvalid || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("kgit ui --addr 0.0.0.0:0 without --token: %v", err)
	}
	srv := webui.New(newUISource(g, memory.New()), webui.Options{Token: "s3cret"})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r, _ := http.NewRequest("GET", ts.URL+"/api/apps", nil)
	if code, _ := get(t, c, r); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	r.Header.Set("Authorization", "Bearer s3cret")
	if code, _ := get(t, c, r); code != 200 {
		t.Errorf("with the token: %d", code)
	}
	r, _ = http.NewRequest("GET", ts.URL+"/apps?token=s3cret", nil)
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || len(resp.Cookies()) != 1 || !resp.Cookies()[0].HttpOnly {
		t.Errorf("?token=: %d %v", resp.StatusCode, resp.Cookies())
	}
}

// BenchmarkUI serves the apps list and an app page over 100 apps of 10 pods each (1000
// pods) on the memory backend, through a real HTTP connection: "read" when every
// request reads the backend (the first page after an interval), "cached" when the
// hub's snapshot is fresh (every other page of that interval). It reports the time to
// the response's first byte and the page's size: the HTML shell (the same for every
// page, then its script and stylesheet, cached) and the page's JSON (what the script
// renders and the stream sends).
//
//	go test ./cmd/kgit/cli -run '^$' -bench UI -benchtime 20x
func BenchmarkUI(b *testing.B) {
	g, be := uiApps(b, 100, 10)
	for _, mode := range []struct {
		name     string
		interval time.Duration
	}{{"read", time.Nanosecond}, {"cached", time.Hour}} {
		srv := webui.New(newUISource(g, be), webui.Options{Interval: mode.interval, Loopback: true})
		ts := httptest.NewServer(srv)
		for _, page := range []string{"/apps", "/apps/app-042"} {
			b.Run(mode.name+strings.ReplaceAll(page, "/", "_"), func(b *testing.B) {
				var ttfb time.Duration
				size := 0
				for b.Loop() {
					var start, first time.Time
					trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
					req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", ts.URL+"/api"+page, nil)
					start = time.Now()
					code, body := get(b, ts.Client(), req)
					if code != 200 {
						b.Fatalf("%s: %d %s", page, code, body)
					}
					ttfb += first.Sub(start)
					size = len(body)
				}
				_, shell := get(b, ts.Client(), mustReq(ts.URL+page))
				b.ReportMetric(float64(ttfb.Microseconds())/1000/float64(b.N), "ms-ttfb")
				b.ReportMetric(float64(size), "json-bytes")
				b.ReportMetric(float64(len(shell)), "html-bytes")
			})
		}
		ts.Close()
	}
}

func mustReq(url string) *http.Request {
	r, _ := http.NewRequest("GET", url, nil)
	return r
}
