package probe_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/backend/probe"
)

// TestGRPC probes the test app's gRPC health service (served without the grpc module,
// over cleartext HTTP/2 as the kubelet's probe speaks it): SERVING passes, NOT_SERVING
// and an unknown service fail with the kubelet's messages, and so does a closed port.
func TestGRPC(t *testing.T) {
	dir := t.TempDir()
	app := backendtest.BuildTestApp(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	unhealthy := filepath.Join(dir, "unhealthy")
	cmd := exec.Command(app, "serve", l.Addr().String())
	cmd.Env = append(os.Environ(), "UNHEALTHY="+unhealthy)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for ok, _ := probe.TCP(ctx, "127.0.0.1", port, time.Second); !ok; ok, _ = probe.TCP(ctx, "127.0.0.1", port, time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("the test app never listened")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, service := range []string{"", "testapp"} {
		if ok, msg := probe.GRPC(ctx, "127.0.0.1", port, service, 2*time.Second); !ok {
			t.Errorf("service %q: failed while serving: %s", service, msg)
		}
	}
	if ok, msg := probe.GRPC(ctx, "127.0.0.1", port, "other", 2*time.Second); ok || msg != "rpc error: code = NotFound desc = unknown service" {
		t.Errorf("unknown service: %v %q", ok, msg)
	}
	if err := os.WriteFile(unhealthy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, msg := probe.GRPC(ctx, "127.0.0.1", port, "", 2*time.Second); ok || msg != `service unhealthy (responded with "NOT_SERVING")` {
		t.Errorf("not serving: %v %q", ok, msg)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if ok, msg := probe.GRPC(ctx, "127.0.0.1", port, "", time.Second); ok || !strings.HasPrefix(msg, "timeout: failed to connect service") {
		t.Errorf("closed port: %v %q", ok, msg)
	}
}
