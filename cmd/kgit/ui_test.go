package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/backend/process"
)

// browser returns Debian's chromium (or another Chrome on the PATH). Without one the
// test is skipped, or fails when KGIT_REQUIRE_BROWSER=1 (as .ci/run sets it).
func browser(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KGIT_REQUIRE_BROWSER") == "1" {
		t.Fatalf("no chromium on the PATH and KGIT_REQUIRE_BROWSER=1: install it (apt-get install -y chromium)")
	}
	t.Skip("no chromium on the PATH (apt-get install -y chromium; KGIT_REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}

// TestUIBrowser drives a real chromium, headless, against a real `kgit ui` over real
// pods on the process backend: the apps list names the app; the app page shows its
// Deployment, its pods, the commits of its history, its rollout bar and its Service's
// endpoints; a pod's container killed behind kgit's back changes the page without a
// reload; a pod's page shows its log; the events page filters; a restart moves the
// rollout bar live; the history shows each revision's result. KGIT_UI_SCREENSHOTS=DIR
// saves the apps list and the app page there as PNG (the README's pictures: testdata/ui).
func TestUIBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	chrome := browser(t)
	e := newRolloutEnvB(t)
	bin := t.TempDir()
	kgit := backendtest.Build(t, bin, "cmd/kgit")
	backendtest.Build(t, bin, "cmd/"+process.SupervisorName)
	env := append(os.Environ(), process.SupervisorEnv+"=")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(kgit, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kgit %v: %v\n%s", args, err, out)
		}
	}
	commit := func(version string) string {
		y := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: example.com/web:%s
        command: [sh, -c, "echo started $(POD_NAME); while true; do sleep 1; done", "uitest-$(POD_NAME)"]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2-%s}
`, version, version)
		if err := os.WriteFile(filepath.Join(e.repo, "web.yaml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", ".")
		e.git("commit", "-qm", "web "+version)
		out, err := exec.Command("git", "-C", e.repo, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	v1 := commit("v1")
	run("sync", "--repo", e.repo, "--app", "shop", "--timeout", "60s")
	v2 := commit("v2")
	run("sync", "--repo", e.repo, "--app", "shop", "--timeout", "60s")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ui := exec.CommandContext(ctx, kgit, "ui", "--addr", "127.0.0.1:0", "--interval", "300ms")
	ui.Env = env
	stderr, err := ui.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ui.Process.Signal(syscall.SIGTERM); ui.Wait() }()
	line, err := bufio.NewReader(stderr).ReadString('\n')
	if err != nil {
		t.Fatalf("kgit ui printed no address: %v", err)
	}
	base := regexp.MustCompile(`http://[0-9.:]+`).FindString(line)
	if base == "" {
		t.Fatalf("kgit ui: %q", line)
	}

	actx, acancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1400, 900))...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	do := func(a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.Run(bctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// wait returns the value of a JavaScript expression once it is truthy (polled in
	// the page: the page renders from server-sent events after it loads).
	wait := func(expr string) string {
		t.Helper()
		js := fmt.Sprintf(`new Promise((ok, fail) => { const end = Date.now() + 30000; const f = () => { let v; try { v = (%s); } catch (e) {} if (v) ok(String(v)); else if (Date.now() > end) fail(new Error("timed out")); else setTimeout(f, 50); }; f(); })`, expr)
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("waiting for %s: %v", expr, err)
		}
		return v
	}
	text := func(sel string) string {
		t.Helper()
		return wait(fmt.Sprintf("document.querySelector(%q)?.textContent", sel))
	}
	shots := os.Getenv("KGIT_UI_SCREENSHOTS")
	shot := func(name string) {
		if shots == "" {
			return
		}
		time.Sleep(300 * time.Millisecond)
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The apps list names the app, in sync and healthy, with both pods ready.
	do(chromedp.Navigate(base + "/apps"))
	row := text(`#apps tr[data-app="shop"]`)
	for _, want := range []string{"shop", v2[:12], "Synced", "Healthy", "2/2"} {
		if !strings.Contains(row, want) {
			t.Errorf("apps list row %q lacks %q", row, want)
		}
	}
	shot("apps.png")

	// The app page: the Deployment, its pods, and the commits of its history (the
	// ReplicaSets of both revisions); no Secret value anywhere.
	do(chromedp.Navigate(base + "/apps/shop"))
	tree := text(`#tree .node[data-kind="Deployment"][data-name="web"]`)
	pods, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.node[data-kind="Pod"]')].map(n => n.dataset.name)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 2 {
		t.Errorf("app page shows pods %v, want 2", pods)
	}
	for _, want := range []string{"revision 1", "revision 2", "commit " + v1[:12], "commit " + v2[:12]} {
		if !strings.Contains(tree, want) {
			t.Errorf("the tree lacks %q:\n%s", want, tree)
		}
	}
	shot("app.png")
	if body := text("body"); strings.Contains(body, "hunter2") {
		t.Errorf("a Secret value is on the page")
	}

	// The rollout bar of the Deployment: its counts, and a full bar of available pods.
	bar := text(`.rollout[data-deploy="web"]`)
	for _, want := range []string{"desired 2", "updated 2", "ready 2", "available 2", "revision 2", "successfully rolled out"} {
		if !strings.Contains(bar, want) {
			t.Errorf("the rollout bar lacks %q: %s", want, bar)
		}
	}
	if w := wait(`document.querySelector('.rollout[data-deploy="web"] .bar i.avail')?.style.width`); w != "100%" {
		t.Errorf("the rollout bar's available part: %s, want 100%%", w)
	}
	// The Service's endpoints are the ready pods' addresses, at its target port.
	addrs, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`fetch("/api/apps/shop").then(r => r.json()).then(d => d.nodes.filter(n => n.kind === "Pod").map(n => n.address))`, chromedp.EvalAwaitPromise))
	if err != nil || len(addrs) != 2 {
		t.Fatalf("pod addresses: %v %v", addrs, err)
	}
	svc := text(`#tree .node[data-kind="Service"][data-name="web"]`)
	for _, a := range addrs {
		if a == "" || !strings.Contains(svc, a+":8080") {
			t.Errorf("the Service's node lacks the endpoint %s:8080: %s", a, svc)
		}
	}

	// A pod's container killed behind kgit's back: the page changes (its restart
	// count) without a reload (the marker set in the page survives).
	if len(pods) == 0 {
		t.FailNow()
	}
	victim := pods[0]
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.kgitMarker = 42`)); err != nil {
		t.Fatal(err)
	}
	podState := fmt.Sprintf(`document.querySelector('.node[data-kind="Pod"][data-name=%q]')?.dataset.state || "gone"`, victim)
	if before := wait(podState); before != "Running/ready/0" {
		t.Fatalf("pod %s before the kill: %q", victim, before)
	}
	pids := findProcs("uitest-" + victim)
	if len(pids) == 0 {
		t.Fatalf("no process of pod %s", victim)
	}
	for _, pid := range pids {
		killPID(pid, syscall.SIGKILL)
	}
	after := wait(fmt.Sprintf(`(() => { const v = %s; return v !== "Running/ready/0" && v; })()`, podState))
	t.Logf("pod %s after the kill: %s (phase/ready/restarts)", victim, after)
	if marker := wait(`String(window.kgitMarker || "reloaded")`); marker != "42" {
		t.Errorf("the page was reloaded")
	}

	// A pod's page shows its log, of its first container.
	logged := pods[len(pods)-1]
	do(chromedp.Navigate(base + "/apps/shop/objects/Pod/" + logged))
	if log := wait(fmt.Sprintf(`(() => { const t = document.querySelector("#logs")?.textContent || ""; return t.includes(%q) && t; })()`, "started "+logged)); !strings.Contains(log, "started "+logged) {
		t.Errorf("the pod's log: %q", log)
	}
	if c := wait(`document.querySelector("#main select")?.value`); c != "main" {
		t.Errorf("the log's container: %q, want main", c)
	}

	// The events page filters by reason, and keeps the filter in the address.
	do(chromedp.Navigate(base + "/apps/shop/events"))
	rowsJS := `[...document.querySelectorAll("#events tr")].slice(1).map(r => r.cells[2].textContent + " " + r.cells[3].textContent)`
	all := wait(rowsJS + `.length`)
	filter := func(name, value, want string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const i = document.querySelector("input[name=%s]"); i.value = %q; i.dispatchEvent(new Event("change")); return true; })()`, name, value))); err != nil {
			t.Fatal(err)
		}
		got := wait(fmt.Sprintf(`(() => { const r = %s; return r.length > 0 && r.every(x => x.includes(%q)) && location.search.includes(%q) && JSON.stringify(r); })()`, rowsJS, want, name+"="+value))
		t.Logf("events filtered by %s=%s (of %s): %s", name, value, all, got)
	}
	filter("reason", "ScalingReplicaSet", "ScalingReplicaSet deployment.apps/web")
	n := wait(rowsJS + `.length`)
	filter("reason", "SuccessfulCreate", "SuccessfulCreate replicaset.apps/web-")
	if all == n {
		t.Errorf("filtering by reason kept all %s events", all)
	}

	// A restart, watched on the app page: the rollout bar moves to the new revision
	// without a reload.
	do(chromedp.Navigate(base + "/apps/shop"))
	text(`.rollout[data-deploy="web"]`)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.kgitMarker = 43`)); err != nil {
		t.Fatal(err)
	}
	run("rollout", "restart", "deploy/web", "--app", "shop", "--timeout", "60s")
	wait(`(() => { const t = document.querySelector('.rollout[data-deploy="web"]')?.textContent || ""; return t.includes("revision 3") && t.includes("available 2") && t.includes("updated 2"); })()`)
	if marker := wait(`String(window.kgitMarker || "reloaded")`); marker != "43" {
		t.Errorf("the page was reloaded")
	}

	// The history page joins the revisions with git, and gives each the result that
	// made it (the syncs', the restart's); the Secret's page masks it.
	do(chromedp.Navigate(base + "/apps/shop/history"))
	hist := text(`#history`)
	for _, want := range []string{"web v1", "web v2", "kgit rollback deploy/web --to " + v1[:12]} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
	// The restart's outcome is journalled as its command exits, a moment after its
	// revision is made: the page may have been served a snapshot read in that moment,
	// and shows the outcome from the next one (server-sent).
	for rev, want := range map[string]string{"web/1": "synced", "web/2": "synced", "web/3": "restarted"} {
		js := fmt.Sprintf(`new Promise(ok => { const end = Date.now() + 15000; const f = () => { const v = document.querySelector(%q)?.textContent || ""; if (v === %q || Date.now() > end) ok(v); else setTimeout(f, 50); }; f(); })`,
			fmt.Sprintf(`#history tr[data-revision=%q] td.result`, rev), want)
		got, err := chromedp.Run(bctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("history: revision %s's result %q, want %q", rev, got, want)
		}
	}
	do(chromedp.Navigate(base + "/apps/shop/objects/Secret/creds"))
	text(`#describe`)
	if body := text("body"); strings.Contains(body, "hunter2") || !strings.Contains(body, "(secret value)") {
		t.Errorf("the Secret's page does not mask its value:\n%s", body)
	}
}
