package docker

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewPodmanNoService: where no Podman service answers (no socket, a file that is
// not one, a socket nobody serves), --backend podman says where it looked and how to
// start one.
func TestNewPodmanNoService(t *testing.T) {
	dir := t.TempDir()
	notSocket := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(notSocket, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, "dead.sock")
	l, err := net.Listen("unix", dead)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the socket file stays; nobody accepts
	_, err = newPodman(context.Background(), io.Discard, []string{filepath.Join(dir, "none.sock"), notSocket, dead})
	if err == nil {
		t.Fatal("newPodman found a service where none is")
	}
	for _, want := range []string{"podman: no Podman service answers at unix://" + filepath.Join(dir, "none.sock") + " or unix://" + notSocket + " or unix://" + dead,
		"podman system service --time=0 unix://" + dead, "systemctl start podman.socket", "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant %q in it", err, want)
		}
	}
}

func TestPodmanSockets(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got := strings.Join(PodmanSockets(), " "); got != "/run/user/1000/podman/podman.sock /run/podman/podman.sock" {
		t.Errorf("PodmanSockets() = %s", got)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got := strings.Join(PodmanSockets(), " "); got != "/run/podman/podman.sock" {
		t.Errorf("PodmanSockets() without XDG_RUNTIME_DIR = %s", got)
	}
}
