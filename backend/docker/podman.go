package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"kgit.dev/kgit/backend/docker/engine"
)

// What differs on Podman's Docker-compatible API, and how kgit makes up for it.

// PodmanName is the docker backend on Podman's socket, found without DOCKER_HOST
// (`--backend podman`).
const PodmanName = "podman"

// PodmanSockets are where Podman's service listens, in the order NewPodman looks:
// the user's (rootless), then the system's (rootful).
func PodmanSockets() []string {
	var out []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		out = append(out, filepath.Join(d, "podman", "podman.sock"))
	}
	return append(out, "/run/podman/podman.sock")
}

// NewPodman connects to the first of PodmanSockets whose service answers; DOCKER_HOST
// is not read. Pull progress goes to log.
func NewPodman(ctx context.Context, log io.Writer) (*Backend, error) {
	return newPodman(ctx, log, PodmanSockets())
}

func newPodman(ctx context.Context, log io.Writer, sockets []string) (*Backend, error) {
	var tried []string
	for _, sock := range sockets {
		host := "unix://" + sock
		tried = append(tried, host)
		if _, err := os.Stat(sock); err != nil {
			continue
		}
		cli, err := engine.New(host)
		if err != nil {
			return nil, fmt.Errorf("podman: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = cli.Ping(pctx)
		cancel()
		if err != nil {
			continue
		}
		return &Backend{cli: cli, name: PodmanName, host: host, log: log, probes: map[string]*probeState{}}, nil
	}
	return nil, fmt.Errorf("podman: no Podman service answers at %s; start one with `podman system service --time=0 %s &` "+
		"(or `systemctl start podman.socket`; `systemctl --user start podman.socket` for a user's), or point --backend docker at it with DOCKER_HOST",
		strings.Join(tried, " or "), tried[len(tried)-1])
}

// Podman reports whether the engine is Podman (its Docker-compatible API), asking it
// once.
func (b *Backend) Podman(ctx context.Context) bool {
	b.engineMu.Lock()
	defer b.engineMu.Unlock()
	if b.engine == "" {
		res, err := b.cli.ServerVersion(ctx)
		if err != nil {
			return false // asked again next time
		}
		b.engine = "Docker"
		for _, c := range res.Components {
			if strings.HasPrefix(c.Name, "Podman") {
				b.engine = "Podman"
			}
		}
	}
	return b.engine == "Podman"
}

// podmanBackOff is how long a container that Podman restarted is shown waiting in
// CrashLoopBackOff: Podman restarts a container that exits at once, again and again,
// with no back-off and never in the "restarting" state (Docker waits 100 ms, doubling,
// and says so), so the container is held not ready for Kubernetes' first back-off
// delay after each restart instead.
const podmanBackOff = 10 * time.Second

// podmanLastExit finds the exit code of the run before a restart of a running
// container: Podman's state forgets it when the container starts again, so it is read
// from the engine's "die" event before the restart (once per restart; nil when it
// cannot be found).
func (b *Backend) podmanLastExit(ctx context.Context, c container.InspectResponse) *int {
	if c.State == nil || !c.State.Running || c.RestartCount == 0 {
		return nil
	}
	started, err := time.Parse(time.RFC3339Nano, c.State.StartedAt)
	if err != nil {
		return nil
	}
	key := c.ID + " " + c.State.StartedAt
	b.mu.Lock()
	code, ok := b.lastExits[key]
	b.mu.Unlock()
	if ok {
		return &code
	}
	// Podman ends a stream at its "until" by a timer, and one whose "until" has passed
	// may end before its first event: "until" is a little ahead, and the stream is
	// left at the start of the current run.
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	stream, err := b.cli.Events(ctx,
		strconv.FormatInt(started.Add(-10*time.Second).Unix(), 10), // Podman restarts at once
		strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10),
		make(engine.Filters).Add("container", c.ID))
	if err != nil {
		return nil
	}
	defer stream.Close()
	found := false
	dec := json.NewDecoder(stream)
loop:
	for {
		var m events.Message
		if dec.Decode(&m) != nil {
			break
		}
		switch {
		case (m.Action == "die" || m.Action == "died") && m.TimeNano <= started.UnixNano():
			if n, err := strconv.Atoi(m.Actor.Attributes["containerExitCode"]); err == nil {
				code, found = n, true
			}
		case m.Action == "start" && m.TimeNano >= started.UnixNano():
			break loop
		}
	}
	if !found {
		return nil
	}
	b.mu.Lock()
	if b.lastExits == nil || len(b.lastExits) > 1000 {
		b.lastExits = map[string]int{}
	}
	b.lastExits[key] = code
	b.mu.Unlock()
	return &code
}
