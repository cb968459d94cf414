package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/cmd/kgit/cli"
	"kgit.dev/kgit/internal/clustertest"
)

// TestClusterExecPortForward runs kgit exec and kgit port-forward with --backend
// kubernetes on a real control plane, through the API server's pods/exec and
// pods/portforward to the node (kwok, whose exec runs the command on the host and whose
// port 8080 answers one HTTP request: testdata/cluster/kwok-debugging.yaml).
func TestClusterExecPortForward(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a control plane")
	}
	kgit, err := exec.LookPath("kgit") // this test binary, as TestMain installs it
	if err != nil {
		t.Fatal(err)
	}
	kc := clustertest.Start(t)
	t.Setenv("KUBECONFIG", kc)
	t.Setenv("KGIT_BACKEND", "kubernetes")
	e := newRolloutEnvB(t)
	e.app = "devloop"
	const app = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: main, image: "nginx:1.27", ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: api}
  ports: [{name: web, port: 80, targetPort: http}]
`
	if err := os.WriteFile(filepath.Join(e.repo, "api.yaml"), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("add", ".")
	e.git("commit", "-qm", "api")
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"sync", "--timeout", "120s", "--repo", e.repo, "--app", e.app}, &out, &errb); code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out.String(), errb.String())
	}

	// kg runs kgit as a process of its own, with stdin.
	kg := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(kgit, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatal(err)
		}
		return so.String(), se.String(), cmd.ProcessState.ExitCode()
	}
	if o, e, code := kg("", "exec", "deploy/api", "--", "sh", "-c", "echo out; echo err >&2"); code != 0 || o != "out\n" || e != "err\n" {
		t.Errorf("exec deploy/api: exit %d, stdout %q, stderr %q", code, o, e)
	}
	o, e2, _ := kg("", "get", "pods", "-l", "app=api", "-o", "name")
	pods := strings.Fields(o)
	if len(pods) != 2 || !strings.HasPrefix(pods[0], "pod/api-") {
		t.Fatalf("get pods -o name: %q %s", o, e2)
	}
	pod := strings.TrimPrefix(pods[0], "pod/")
	if o, e, code := kg("hello\nworld\n", "exec", "-i", pod, "-c", "main", "--", "head", "-n1"); code != 0 || o != "hello\n" {
		t.Errorf("exec -i %s: exit %d, stdout %q, stderr %q", pod, code, o, e)
	}
	if _, e, code := kg("", "exec", pod, "-c", "nosuch", "--", "true"); code != cli.ExitInvalid || !strings.Contains(e, "container nosuch is not valid for pod "+pod) {
		t.Errorf("exec -c nosuch: exit %d, stderr %q", code, e)
	}
	// A failing command: kgit exits with its code where the kubelet reports it
	// (TestExecExitCode); kwok v0.8.0 reports only a server error that names it.
	if _, e, code := kg("", "exec", "deploy/api", "--", "sh", "-c", "exit 7"); code != 7 && (code == 0 || !strings.Contains(e, "exit status 7")) {
		t.Errorf("exec of exit 7: exit %d, stderr %q", code, e)
	}
	if _, e, code := kg("", "exec", "deploy/nosuch", "--", "true"); code == 0 || !strings.Contains(e, `deployments "nosuch" not found`) {
		t.Errorf("exec deploy/nosuch: exit %d, stderr %q", code, e)
	}

	// port-forward svc/api :80: a free local port, to the Service's target port (http, 8080)
	pf := exec.Command(kgit, "port-forward", "svc/api", ":80")
	stdout, err := pf.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var pfErr bytes.Buffer
	pf.Stderr = &pfErr
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pf.Process.Kill(); _ = pf.Wait() }()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(30 * time.Second):
			t.Fatalf("port-forward printed nothing more; stderr:\n%s", pfErr.String())
		}
		return ""
	}
	first := next()
	m := regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> 8080$`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("port-forward: %q", first)
	}
	resp, err := http.Get("http://127.0.0.1:" + m[1] + "/ping")
	if err != nil {
		t.Fatalf("a request through port-forward: %v\n%s", err, pfErr.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from kwok: GET /ping HTTP/1.1\n" {
		t.Errorf("through port-forward: %s %q", resp.Status, body)
	}
	for l := next(); l != "Handling connection for "+m[1]; l = next() {
		if !strings.HasPrefix(l, "Forwarding from") {
			t.Errorf("port-forward printed %q", l)
		}
	}
	if err := pf.Process.Signal(os.Interrupt); err == nil {
		done := make(chan error, 1)
		go func() { done <- pf.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("port-forward after an interrupt: %v\n%s", err, pfErr.String())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("port-forward did not stop on an interrupt")
		}
	}
}
