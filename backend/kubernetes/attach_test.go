package kubernetes

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/reconcile"
)

var svcGVR = schema.GroupVersionResource{Version: "v1", Resource: "services"}

// TestExecAndPortForward runs a command in a pod and forwards a port of it through the
// API server's pods/exec and pods/portforward, which the test cluster's node (kwok,
// testdata/cluster/kwok-debugging.yaml) serves: exec runs the command on the host,
// port 8080 is a one-request HTTP server, any other port an echo.
func TestExecAndPortForward(t *testing.T) {
	e := newEnv(t, "shop")
	if err := e.sync(e.syncer(), e.objs(web("nginx:1.27", 2, "")+service), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	tg := e.target()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	objs, err := tg.List(ctx, "pods", e.ns, "app=web", "")
	if err != nil || len(objs) != 2 {
		t.Fatalf("pods: %d %v", len(objs), err)
	}
	p, err := PodOf(objs[0])
	if err != nil {
		t.Fatal(err)
	}
	if p.Namespace != e.ns || len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Name != "c" || p.Status.Phase != backend.PodRunning || !p.Status.Ready {
		t.Fatalf("PodOf: %+v", p)
	}
	s, err := ServiceOf(e.get(svcGVR, "web").Object)
	if err != nil || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort.IntVal != 8080 {
		t.Fatalf("ServiceOf: %+v %v", s, err)
	}

	// exec: stdout and stderr apart, exit 0
	var out, errOut bytes.Buffer
	code, err := tg.Exec(ctx, p, "c", backend.ExecOptions{Command: []string{"sh", "-c", "echo out; echo err >&2"}, Stdout: &out, Stderr: &errOut})
	if err != nil || code != 0 || out.String() != "out\n" || errOut.String() != "err\n" {
		t.Errorf("exec: %d %v, stdout %q, stderr %q", code, err, out.String(), errOut.String())
	}
	// stdin
	out.Reset()
	code, err = tg.Exec(ctx, p, "c", backend.ExecOptions{Command: []string{"head", "-n1"}, Stdin: strings.NewReader("hello\nworld\n"), Stdout: &out, Stderr: io.Discard})
	if err != nil || code != 0 || out.String() != "hello\n" {
		t.Errorf("exec with stdin: %d %v, stdout %q", code, err, out.String())
	}
	// a failing command: a kubelet reports its exit code; kwok v0.8.0 only a server
	// error naming it
	code, err = tg.Exec(ctx, p, "c", backend.ExecOptions{Command: []string{"sh", "-c", "exit 3"}, Stdout: io.Discard, Stderr: io.Discard})
	if code != 3 && (err == nil || !strings.Contains(err.Error(), "exit status 3")) {
		t.Errorf("exec of exit 3: %d %v", code, err)
	}
	// a pod that does not exist
	if _, err := tg.Exec(ctx, &backend.Pod{PodSpec: backend.PodSpec{Name: "nosuch", Namespace: e.ns}}, "c", backend.ExecOptions{Command: []string{"true"}, Stdout: io.Discard}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("exec in a missing pod: %v", err)
	}

	// port-forward: an HTTP request and its answer
	conn, err := tg.DialPod(ctx, p, 8080)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /ping HTTP/1.1\r\nHost: web\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	conn.Close()
	if resp.StatusCode != 200 || string(body) != "hello from kwok: GET /ping HTTP/1.1\n" {
		t.Errorf("through the forward: %s %q", resp.Status, body)
	}
	// a half-close reaches the pod's side: the echo ends and the connection with it
	conn, err = tg.DialPod(ctx, p, 9000)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(conn); string(got) != "ping" {
		t.Errorf("echo: %q %v", got, err)
	}
}
