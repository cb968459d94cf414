package ingress

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/internal/tmpdir"
)

// Command is the hidden mode of kgit's binary that runs the controller: `kgit __ingress
// DIR`. It is kgit's own binary, not kgit-supervisor: it needs net/http and crypto/tls.
const Command = "__ingress"

// Update makes the controller serve app's part a (nil or empty: app has no Ingress
// left), listening where listen says: it writes the part, then starts the controller,
// tells it to reload, or stops it when no app has an Ingress it serves. It returns the
// controller's status (nil when it is stopped). A controller that cannot listen is an
// error of its own, which a sync reports and goes on: the pods and Services are fine.
func Update(ctx context.Context, dir, app string, a *App, listen Listen) (*Status, error) {
	// The folder may be in the temporary folder (docker's), under a name known ahead.
	if err := tmpdir.Make(dir); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	if err := os.MkdirAll(appsDir(dir), 0o700); err != nil {
		return nil, err
	}
	lock := flock.New(filepath.Join(dir, "lock"))
	if ok, err := lock.TryLockContext(ctx, 20*time.Millisecond); err != nil || !ok {
		return nil, fmt.Errorf("ingress: lock %s: %v", dir, err)
	}
	defer lock.Unlock()
	changed := false
	if a == nil || len(a.Ingresses) == 0 && len(a.Classes) == 0 {
		if err := os.Remove(appFile(dir, app)); err == nil {
			changed = true
		}
	} else {
		data, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		if changed, err = writeFile(appFile(dir, app), data); err != nil {
			return nil, err
		}
	}
	data, _ := json.Marshal(listen)
	listenChanged, err := writeFile(filepath.Join(dir, "listen.json"), data)
	if err != nil {
		return nil, err
	}
	changed = changed || listenChanged
	apps, err := loadApps(dir)
	if err != nil {
		return nil, err
	}
	pids := controllers(dir)
	if len(Served(apps)) == 0 {
		for _, pid := range pids {
			proxy.Stop(pid)
		}
		_ = os.Remove(filepath.Join(dir, "status.json"))
		return nil, nil
	}
	for _, pid := range pids[min(len(pids), 1):] {
		proxy.Stop(pid) // one controller per folder
	}
	if len(pids) > 0 {
		if changed {
			if err := reload(dir, pids[0]); err != nil {
				return nil, err
			}
		}
		if s := ReadStatus(dir); s != nil {
			return s, statusErr(s)
		}
		proxy.Stop(pids[0]) // it answers no more: a new one takes over
	}
	_ = os.Remove(filepath.Join(dir, "status.json"))
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if _, _, err := proxy.Start(exe, []string{"kgit", Command, dir}, filepath.Join(dir, "controller.log")); err != nil {
		return nil, fmt.Errorf("ingress controller: %w", err)
	}
	s := ReadStatus(dir)
	if s == nil {
		return nil, fmt.Errorf("ingress controller: it exited at once (see %s)", filepath.Join(dir, "controller.log"))
	}
	return s, statusErr(s)
}

func statusErr(s *Status) error {
	if s.Error != "" {
		return fmt.Errorf("ingress controller: %s", s.Error)
	}
	return nil
}

// reload tells the controller to read its configuration again and waits until it has
// (it rewrites its status).
func reload(dir string, pid int) error {
	path := filepath.Join(dir, "status.json")
	before, _ := os.Stat(path)
	if err := hangup(pid); err != nil {
		return fmt.Errorf("ingress controller: reload: %w", err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st, err := os.Stat(path); err == nil && (before == nil || !st.ModTime().Equal(before.ModTime()) || !os.SameFile(st, before)) {
			return nil
		}
	}
	return fmt.Errorf("ingress controller (pid %d) did not reload within 5 s", pid)
}

// Stop stops the controller of dir, if it runs, and forgets every app's part: for
// tests and for a backend that goes away.
func Stop(dir string) {
	for _, pid := range controllers(dir) {
		proxy.Stop(pid)
	}
	_ = os.RemoveAll(appsDir(dir))
	_ = os.Remove(filepath.Join(dir, "status.json"))
}

// controllers finds the running controllers of dir by their command lines (a PID is
// never trusted alone: the one in status.json may have been reused).
func controllers(dir string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && running(dir, pid) {
			out = append(out, pid)
		}
	}
	return out
}

func zombie(pid int) bool {
	stat, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] == 'Z'
	}
	return false
}

// running reports whether pid is a controller of dir.
func running(dir string, pid int) bool {
	if pid <= 0 {
		return false
	}
	cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	args := strings.Split(string(cmdline), "\x00")
	return len(args) >= 3 && args[1] == Command && args[2] == dir && !zombie(pid)
}
