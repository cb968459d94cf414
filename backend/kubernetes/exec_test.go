package kubernetes

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"k8s.io/client-go/rest"

	"kgit.dev/kgit/backend"
)

// TestExecExitCode checks Exec against a stand-in for the API server that speaks the
// remote-command protocol (v5, WebSocket) as a kubelet answers through it: the request
// it makes, the streams it carries, and the exit code it returns from the error
// stream's NonZeroExitCode status (kwok's kubelet never reports one; see
// testdata/cluster/kwok-debugging.yaml). No cluster needed.
func TestExecExitCode(t *testing.T) {
	var gotPath string
	var gotQuery map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.Path, r.URL.Query()
		up := websocket.Upgrader{Subprotocols: []string{"v5.channel.k8s.io"}}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var stdin []byte
		for { // stdin (channel 0) until the client's close signal for it (255, 0)
			_, msg, err := c.ReadMessage()
			if err != nil || len(msg) == 0 {
				return
			}
			if msg[0] == 255 && len(msg) == 2 && msg[1] == 0 {
				break
			}
			if msg[0] == 0 {
				stdin = append(stdin, msg[1:]...)
			}
		}
		send := func(ch byte, s string) { _ = c.WriteMessage(websocket.BinaryMessage, append([]byte{ch}, s...)) }
		send(1, "you said: "+string(stdin))
		send(2, "a warning\n")
		send(3, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"command terminated with non-zero exit code","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}`)
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}))
	defer srv.Close()

	tg := &Target{rest: &rest.Config{Host: srv.URL}, Namespace: "default"}
	p := &backend.Pod{PodSpec: backend.PodSpec{Name: "web-1", Namespace: "shop"}}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, err := tg.Exec(ctx, p, "c", backend.ExecOptions{
		Command: []string{"sh", "-c", "read x; echo $x; exit 3"},
		Stdin:   strings.NewReader("hello\n"), Stdout: &out, Stderr: &errOut,
	})
	if err != nil || code != 3 {
		t.Fatalf("Exec = %d, %v; want 3, nil", code, err)
	}
	if out.String() != "you said: hello\n" || errOut.String() != "a warning\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	if gotPath != "/api/v1/namespaces/shop/pods/web-1/exec" {
		t.Errorf("path %s", gotPath)
	}
	want := map[string][]string{"command": {"sh", "-c", "read x; echo $x; exit 3"}, "container": {"c"},
		"stdin": {"true"}, "stdout": {"true"}, "stderr": {"true"}}
	if !reflect.DeepEqual(gotQuery, want) {
		t.Errorf("query %v, want %v", gotQuery, want)
	}
}
