package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/memory"
	"kgit.dev/kgit/cmd/kgit/cli/webui"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"
	"kgit.dev/kgit/reconcile"
)

// webYAML is a Deployment of two pods of a version, and a Service in front of them. v2
// is the version the tests hold Pending (memory.Backend.Hold): its deadline is 1s.
func webYAML(version string) string {
	deadline := 600
	if version == "v2" {
		deadline = 1
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  progressDeadlineSeconds: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: example.com/web:%s
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`, deadline, version)
}

// journalledSync syncs a version of webYAML as `kgit sync` does (syncOnce: the journal
// gets its events and its SyncRecord), and returns the sync's error.
func journalledSync(t *testing.T, g *globals, b backend.Backend, app, version string, timeout time.Duration) error {
	t.Helper()
	objs, err := manifest.Parse([]manifest.File{{Path: "web.yaml", Data: []byte(webYAML(version))}})
	if err != nil {
		t.Fatal(err)
	}
	commit := fmt.Sprintf("%040x", len(version)*1000+int(version[len(version)-1]))
	want := &desired{app: app, rev: &gitsource.Revision{Commit: commit, Subject: "web " + version}, objects: objs}
	_, err = syncOnce(context.Background(), g, &syncFlags{timeout: timeout, prune: true}, &site{name: b.Name(), backend: b}, want)
	return err
}

// uiServer serves the web view of a backend, following it every 50ms.
func uiServer(t *testing.T, g *globals, b backend.Backend) (*httptest.Server, func(path string) (int, string)) {
	t.Helper()
	srv := webui.New(newUISource(g, b), webui.Options{Interval: 50 * time.Millisecond, Loopback: true})
	ts := httptest.NewServer(srv)
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Run(ctx)
	t.Cleanup(func() { cancel(); ts.Close() })
	return ts, func(path string) (int, string) {
		t.Helper()
		return get(t, ts.Client(), mustReq(ts.URL+path))
	}
}

// TestUIHistoryResult: the History screen's Result is the journal's result of the sync
// that made each revision: v1's sync succeeded, v2's never became available (its pods
// are held Pending) and failed at its timeout.
func TestUIHistoryResult(t *testing.T) {
	b := memory.New()
	b.Hold = func(s backend.PodSpec) bool { return strings.HasSuffix(s.Spec.Containers[0].Image, ":v2") }
	g := &globals{stateDir: t.TempDir(), repo: t.TempDir(), stdout: io.Discard, stderr: io.Discard}
	if err := journalledSync(t, g, b, "shop", "v1", 30*time.Second); err != nil {
		t.Fatalf("sync v1: %v", err)
	}
	if err := journalledSync(t, g, b, "shop", "v2", 30*time.Second); err == nil {
		t.Fatalf("sync v2 of pods that never start: no error")
	}
	_, api := uiServer(t, g, b)
	code, body := api("/api/apps/shop/history")
	var d struct {
		History []webui.Revision `json:"history"`
	}
	if err := json.Unmarshal([]byte(body), &d); code != 200 || err != nil {
		t.Fatalf("/api/apps/shop/history: %d %v %s", code, err, body)
	}
	results := map[int]string{}
	for _, r := range d.History {
		results[r.Number] = r.Result
	}
	if len(results) != 2 || results[1] != "synced" || !strings.HasPrefix(results[2], "failed: ") {
		t.Errorf("history results %v: want revision 1 synced, revision 2 failed: ...", results)
	}
	// The apps list's last sync is that failed one.
	if _, body := api("/api/apps"); !strings.Contains(body, `"result":"failed: `) {
		t.Errorf("/api/apps: the last sync is not the failed one: %s", body)
	}
}

// TestUIRevisionResultOfAChange: a revision made outside a sync (a restart, a rollback)
// gets the outcome change journals; one the journal knows nothing of gets none.
func TestUIRevisionResultOfAChange(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const deploy = "deployment.apps/web"
	j := &uiJournal{
		syncs: []reconcile.SyncRecord{{App: "shop", Commit: "c1", Started: at(0), Duration: 5 * time.Second, Result: "synced"}},
		changes: []reconcile.Event{
			{Time: at(2), Object: deploy, Reason: "Applied"}, // the sync's, not a change's
			{Time: at(9), Object: "app/shop", Reason: reasonChangeStarted},
			{Time: at(10), Object: deploy, Reason: "Restarted"},
			{Time: at(15), Object: "app/shop", Reason: reasonChangeComplete, Message: "converged"},
			{Time: at(19), Object: "app/shop", Reason: reasonChangeStarted},
			{Time: at(20), Object: deploy, Reason: "DeploymentRollback"},
			{Time: at(40), Object: "app/shop", Reason: reasonChangeFailed, Message: "failed: app shop did not converge within --timeout 20s"},
			{Time: at(45), Object: deploy, Reason: "Applied"}, // a sync's on another machine
			{Time: at(59), Object: "app/shop", Reason: reasonChangeStarted},
			{Time: at(61), Object: deploy, Reason: "Restarted"}, // emitted just after the target made the ReplicaSet
			{Time: at(70), Object: "app/shop", Reason: reasonChangeComplete, Message: "converged"},
		},
	}
	for _, c := range []struct {
		name   string
		rev    reconcile.Revision
		result string
	}{
		{"made by the sync", reconcile.Revision{Commit: "c1", Applied: at(3)}, "synced"},
		{"another commit, while the sync ran", reconcile.Revision{Commit: "c0", Applied: at(3)}, ""},
		{"made by the restart", reconcile.Revision{Commit: "c1", Applied: at(11)}, "restarted"},
		{"made by the rollback", reconcile.Revision{Commit: "c0", Applied: at(21)}, "rolled back: failed: app shop did not converge within --timeout 20s"},
		{"made by a restart, its event a moment later", reconcile.Revision{Commit: "c1", Applied: at(60)}, "restarted"},
		{"made between changes", reconcile.Revision{Commit: "c1", Applied: at(50)}, ""},
		{"made after every journalled change", reconcile.Revision{Commit: "c1", Applied: at(80)}, ""},
		{"made before the journal", reconcile.Revision{Commit: "c1", Applied: at(-10)}, ""},
	} {
		if got := j.result(c.rev, deploy); got != c.result {
			t.Errorf("%s: result %q, want %q", c.name, got, c.result)
		}
		if got := j.result(c.rev, "deployment.apps/other"); got != "" && got != "synced" {
			t.Errorf("%s: another Deployment's revision gets %q", c.name, got)
		}
	}
}

// TestUIServiceEndpointsAndRollout: the App screen's data follows the pods: the
// Service's endpoints are its ready pods' addresses at the target port, and the
// Deployment's rollout counts (its rollout bar) drop when a pod stops being ready.
func TestUIServiceEndpointsAndRollout(t *testing.T) {
	b := memory.New()
	g := &globals{stateDir: t.TempDir(), repo: t.TempDir(), stdout: io.Discard, stderr: io.Discard}
	if err := journalledSync(t, g, b, "shop", "v1", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	pods, err := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "shop"})
	if err != nil || len(pods) != 2 {
		t.Fatalf("pods: %v %v", pods, err)
	}
	_, api := uiServer(t, g, b)
	type node = webui.Node
	page := func() (deploy, svc *node) {
		t.Helper()
		_, body := api("/api/apps/shop")
		var d struct{ Nodes []*node }
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		for _, n := range d.Nodes {
			switch n.Kind + "/" + n.Name {
			case "Deployment/web":
				deploy = n
			case "Service/web":
				svc = n
			}
		}
		if deploy == nil || svc == nil {
			t.Fatalf("the app page lacks the Deployment or the Service: %s", body)
		}
		return deploy, svc
	}
	deploy, svc := page()
	want := []string{pods[0].Status.PodIP + ":8080", pods[1].Status.PodIP + ":8080"}
	if strings.Join(svc.Endpoints, ",") != strings.Join(want, ",") && strings.Join(svc.Endpoints, ",") != want[1]+","+want[0] {
		t.Errorf("the Service's endpoints %v, want %v", svc.Endpoints, want)
	}
	if svc.Ports != "80/TCP" || svc.Type != "ClusterIP" || svc.Address == "" {
		t.Errorf("the Service: %+v", svc)
	}
	if deploy.Desired != 2 || deploy.Updated != 2 || deploy.Ready != 2 || deploy.Available != 2 || deploy.Health != webui.Healthy {
		t.Errorf("the Deployment's rollout: %+v", deploy)
	}
	// A pod stops being ready: the next read drops it from the endpoints and the counts.
	b.SetStatus(pods[0].ID, func(s *backend.PodStatus) { s.Ready = false })
	deadline := time.Now().Add(10 * time.Second)
	for {
		deploy, svc = page()
		if len(svc.Endpoints) == 1 && deploy.Ready == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a pod not ready: endpoints %v, Deployment %d ready", svc.Endpoints, deploy.Ready)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if svc.Endpoints[0] != want[1] || deploy.Health == webui.Healthy {
		t.Errorf("a pod not ready: endpoints %v (want %s), Deployment %s", svc.Endpoints, want[1], deploy.Health)
	}
}

// TestUIEventFilter: the Events screen's filters (app, kind, reason, text, warnings)
// select from the journalled events, newest first.
func TestUIEventFilter(t *testing.T) {
	b := memory.New()
	b.Hold = func(s backend.PodSpec) bool { return strings.HasSuffix(s.Spec.Containers[0].Image, ":v2") }
	g := &globals{stateDir: t.TempDir(), repo: t.TempDir(), stdout: io.Discard, stderr: io.Discard}
	for _, app := range []string{"shop", "blog"} {
		if err := journalledSync(t, g, b, app, "v1", 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	_, api := uiServer(t, g, b)
	events := func(path string) []webui.Event {
		t.Helper()
		code, body := api(path)
		var d struct{ Events []webui.Event }
		if err := json.Unmarshal([]byte(body), &d); code != 200 || err != nil {
			t.Fatalf("%s: %d %v %s", path, code, err, body)
		}
		return d.Events
	}
	all := events("/api/events")
	for _, c := range []struct {
		path string
		keep func(webui.Event) bool
	}{
		{"/api/events?app=blog", func(e webui.Event) bool { return e.App == "blog" }},
		{"/api/apps/shop/events", func(e webui.Event) bool { return e.App == "shop" }},
		{"/api/events?reason=ScalingReplicaSet", func(e webui.Event) bool { return e.Reason == "ScalingReplicaSet" }},
		{"/api/apps/shop/events?kind=service", func(e webui.Event) bool { return e.App == "shop" && strings.HasPrefix(e.Object, "service/") }},
		{"/api/events?q=scaled%20up", func(e webui.Event) bool { return strings.Contains(strings.ToLower(e.Message), "scaled up") }},
	} {
		var want []webui.Event
		for _, e := range all {
			if c.keep(e) {
				want = append(want, e)
			}
		}
		got := events(c.path)
		if len(want) == 0 || len(want) == len(all) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %d of %d events:\n%v\nwant %d:\n%v", c.path, len(got), len(all), got, len(want), want)
		}
	}
	for i := 1; i < len(all); i++ {
		if all[i].Time.After(all[i-1].Time) {
			t.Fatalf("events not newest first: %v", all)
		}
	}
	// A rollout that fails at its deadline journals a warning; ?warning=1 keeps it alone.
	if err := journalledSync(t, g, b, "shop", "v2", 30*time.Second); err == nil {
		t.Fatal("sync v2 of pods that never start: no error")
	}
	var warnings []webui.Event
	for deadline := time.Now().Add(5 * time.Second); len(warnings) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		warnings = events("/api/apps/shop/events?warning=1")
	}
	if len(warnings) == 0 || warnings[0].Reason != "ProgressDeadlineExceeded" {
		t.Errorf("?warning=1 after a rollout past its deadline: %v", warnings)
	}
	for _, e := range warnings {
		if !e.Warning {
			t.Errorf("?warning=1 keeps %+v", e)
		}
	}
}

// TestUITokenFromEnv: $KGIT_UI_TOKEN stands for --token (so the token need not show in
// ps): with it, kgit ui listens beyond loopback and asks every request for it; without
// it (and without --token), it refuses to.
func TestUITokenFromEnv(t *testing.T) {
	t.Setenv("KGIT_PROCESS_ROOT", t.TempDir())
	t.Setenv("KGIT_BACKEND", "")
	t.Setenv("KGIT_UI_TOKEN", "")
	g := &globals{stateDir: t.TempDir(), stdout: io.Discard, stderr: io.Discard}
	if err := runUI(context.Background(), g, &uiFlags{addr: "0.0.0.0:0", interval: time.Second}); exitCode(err) != ExitInvalid || !strings.Contains(err.Error(), "KGIT_UI_TOKEN") {
		t.Fatalf("--addr 0.0.0.0:0 without a token: %v", err)
	}

	t.Setenv("KGIT_UI_TOKEN", "from-the-env")
	pr, pw := io.Pipe()
	g.stderr = pw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runUI(ctx, g, &uiFlags{addr: "0.0.0.0:0", interval: time.Second}); pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("kgit ui with $KGIT_UI_TOKEN beyond loopback: %v %v", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	port := regexp.MustCompile(`:(\d+)/apps\?token=TOKEN`).FindStringSubmatch(line)
	if port == nil || strings.Contains(line, "from-the-env") {
		cancel()
		t.Fatalf("kgit ui printed %q", line)
	}
	url := "http://127.0.0.1:" + port[1] + "/api/apps"
	c := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct {
		token string
		code  int
	}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {"from-the-env", http.StatusOK}} {
		r, _ := http.NewRequest("GET", url, nil)
		if tc.token != "" {
			r.Header.Set("Authorization", "Bearer "+tc.token)
		}
		if code, body := get(t, c, r); code != tc.code {
			t.Errorf("token %q: %d %s, want %d", tc.token, code, body, tc.code)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("kgit ui: %v", err)
	}
}
