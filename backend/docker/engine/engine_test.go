package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// fakeEngine serves handler on a unix socket, as an engine does, with apiVersion as its
// ping's API-Version; it records the paths asked for.
func fakeEngine(t *testing.T, apiVersion string, handler http.HandlerFunc) (*Client, *[]string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		if r.URL.Path == "/_ping" {
			w.Header().Set("Api-Version", apiVersion)
			io.WriteString(w, "OK")
			return
		}
		handler(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c, err := New("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	return c, &paths
}

func TestNegotiatesTheEnginesVersion(t *testing.T) {
	c, paths := fakeEngine(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]container.Summary{{ID: "abc", Labels: map[string]string{"a": "b"}}})
	})
	list, err := c.ContainerList(context.Background(), true, make(Filters).Add("label", "a=b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "abc" || list[0].Labels["a"] != "b" {
		t.Fatalf("listing: %+v", list)
	}
	if c.Version() != "1.41" {
		t.Fatalf("version %q, want the engine's older 1.41", c.Version())
	}
	want := []string{"GET /_ping", `GET /v1.41/containers/json?all=1&filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D`}
	if strings.Join(*paths, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(*paths, "\n"), strings.Join(want, "\n"))
	}
	// a newer engine is asked in this client's own version
	c2, _ := fakeEngine(t, "1.99", nil)
	if err := c2.Ping(context.Background()); err != nil || c2.Version() != maxVersion {
		t.Fatalf("newer engine: version %q, %v; want %s", c2.Version(), err, maxVersion)
	}
	// one older than any this client speaks is refused
	c3, _ := fakeEngine(t, "1.24", nil)
	if err := c3.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "1.24") {
		t.Fatalf("older engine: %v, want a refusal naming 1.24", err)
	}
}

func TestEngineErrors(t *testing.T) {
	c, _ := fakeEngine(t, "1.45", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/containers/gone/json"):
			w.WriteHeader(404)
			io.WriteString(w, `{"message":"No such container: gone"}`)
		case strings.HasSuffix(r.URL.Path, "/containers/create"):
			w.WriteHeader(409)
			io.WriteString(w, "Conflict. The container name is already in use") // not JSON
		default:
			w.WriteHeader(500)
		}
	})
	_, err := c.ContainerInspect(context.Background(), "gone")
	if !NotFound(err) || err.Error() != "Error response from daemon: No such container: gone" {
		t.Fatalf("inspect of a missing container: %v (not found: %v)", err, NotFound(err))
	}
	_, err = c.ContainerCreate(context.Background(), "x", container.CreateRequest{Config: &container.Config{Image: "i"}})
	if NotFound(err) || err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("create of a taken name: %v", err)
	}
	if err := c.ContainerStart(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("a bare 500: %v", err)
	}
	if _, err := New("ssh://host"); err == nil || !strings.Contains(err.Error(), `"ssh"`) {
		t.Fatalf("ssh:// host: %v", err)
	}
	dead, _ := New("unix://" + filepath.Join(t.TempDir(), "none.sock"))
	if err := dead.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot connect to the engine at unix://") {
		t.Fatalf("no engine: %v", err)
	}
}

// An answer in chunks (a streamed listing; events as they come) is read whole, and a
// stream ends when its context does.
func TestChunkedStreams(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	c, _ := fakeEngine(t, "1.45", func(w http.ResponseWriter, r *http.Request) {
		enc := json.NewEncoder(w)
		for i := range 3 {
			enc.Encode(events.Message{Action: events.Action(fmt.Sprintf("a%d", i)), TimeNano: int64(i)})
			w.(http.Flusher).Flush() // one chunk each
		}
		<-block // the stream stays open, as a followed one does
	})
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := c.Events(ctx, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	dec := json.NewDecoder(stream)
	for i := range 3 {
		var m events.Message
		if err := dec.Decode(&m); err != nil || string(m.Action) != fmt.Sprintf("a%d", i) {
			t.Fatalf("event %d: %+v, %v", i, m, err)
		}
	}
	done := make(chan error, 1)
	go func() {
		var m events.Message
		done <- dec.Decode(&m)
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read after the context ended succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived its context by 5 s")
	}
}

func TestChunkedReader(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n", "abcde", ""},
		{"a\r\n0123456789\r\n0\r\n\r\n", "0123456789", ""},
		{"3\r\nabc", "abc", "unexpected EOF"},
		{"zz\r\n", "", "malformed chunk size"},
		{"3\r\nabcX\r\n", "abc", "malformed chunk end"},
	} {
		got, err := io.ReadAll(&chunked{r: bufio.NewReader(strings.NewReader(tc.in))})
		if string(got) != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// An exec's connection is taken over (101) and carries input and output both ways.
func TestExecHijacks(t *testing.T) {
	c, _ := fakeEngine(t, "1.45", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "tcp" {
			w.WriteHeader(400)
			return
		}
		var start container.ExecStartRequest
		if json.NewDecoder(r.Body).Decode(&start) != nil || !start.Tty {
			w.WriteHeader(400)
			return
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		in, _ := io.ReadAll(brw) // until the client closes its side
		io.WriteString(conn, "echo:"+string(in))
	})
	h, err := c.ExecStart(context.Background(), "e1", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	io.WriteString(h.Conn, "hello")
	if err := h.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(h.Reader)
	if string(out) != "echo:hello" || err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("exec output %q, %v", out, err)
	}
}

func TestSplitReference(t *testing.T) {
	for ref, want := range map[string]string{
		"nginx":                          "nginx latest",
		"nginx:1.27":                     "nginx 1.27",
		"localhost:5000/team/app":        "localhost:5000/team/app latest",
		"localhost:5000/team/app:v2":     "localhost:5000/team/app v2",
		"ghcr.io/a/b@sha256:0123abcd":    "ghcr.io/a/b sha256:0123abcd",
		"registry:443/x:tag@sha256:ffff": "registry:443/x:tag sha256:ffff",
	} {
		if n, tag := splitReference(ref); n+" "+tag != want {
			t.Errorf("%s: %s %s, want %s", ref, n, tag, want)
		}
	}
}
