package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker"
	"kgit.dev/kgit/backend/process"
	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/internal/tmpdir"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile/controller"
)

// A CronJob runs after kgit has exited, as pods do: a sync starts one scheduler per
// CronJob, a host process of kgit's own binary in a session of its own,
//
//	kgit __cron --backend NAME WHERE APP NAMESPACE/NAME HASH
//
// that reads the CronJob and its Jobs from the backend (never the state directory) and
// runs them (reconcile/controller.RunScheduler). WHERE is the backend's place (the
// process backend's root, the engine's address) and HASH the CronJob's version: the next
// sync finds its scheduler by that command line, replaces one of another version, and a
// prune or down stops it. One per CronJob rather than one per app: each is started,
// replaced and stopped with its CronJob alone, as a Service's proxy is with its Service.
const cronCommand = "__cron"

// CronSpeedupEnv (test-only) makes a scheduler's clock run that many times faster than
// the real one from the moment it starts: with 60, a schedule's minute passes in a
// second, so tests see a CronJob fire without waiting for the minute.
const CronSpeedupEnv = "KGIT_TEST_CRON_SPEEDUP"

// newCronCmd is the hidden mode in which kgit's binary schedules one CronJob.
func newCronCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    cronCommand + " WHERE APP NAMESPACE/NAME HASH",
		Hidden: true,
		Args:   exactArgs(4, "WHERE APP NAMESPACE/NAME HASH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, name, ok := strings.Cut(args[2], "/")
			if !ok {
				return invalid("%s: NAMESPACE/NAME, not %q", cronCommand, args[2])
			}
			b, err := g.backend(cmd.Context())
			if err != nil {
				return err
			}
			proxy.Listening("") // tells the sync that started it that it runs
			return controller.RunScheduler(cmd.Context(), b, args[1], manifest.Key{Kind: "CronJob", Namespace: ns, Name: name}, args[3], cronClock())
		},
	}
}

// cronClock is the real clock, or with CronSpeedupEnv one that runs faster.
func cronClock() controller.Clock {
	sleep := func(ctx context.Context, d time.Duration) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	f, _ := strconv.ParseFloat(os.Getenv(CronSpeedupEnv), 64)
	if f <= 1 {
		return controller.Clock{Now: time.Now, Sleep: sleep}
	}
	start := time.Now()
	return controller.Clock{
		Now: func() time.Time { return start.Add(time.Duration(float64(time.Since(start)) * f)) },
		// at least 50ms: a scheduler polling a running Job stays a light load on tests
		Sleep: func(ctx context.Context, d time.Duration) {
			sleep(ctx, max(time.Duration(float64(d)/f), 50*time.Millisecond))
		},
	}
}

// hostSchedulers starts, finds and stops CronJobs' schedulers on this machine.
type hostSchedulers struct {
	backend, where string
	env            []string                   // how the scheduler opens the same backend
	procs          map[string][]schedulerProc // by "APP NAMESPACE/NAME", read once (running)
}

// schedulersFor returns the schedulers of a local backend (nil for one that has none:
// the memory backend of tests).
func schedulersFor(b backend.Backend) controller.Schedulers {
	switch b := b.(type) {
	case *process.Backend:
		return &hostSchedulers{backend: process.Name, where: b.Root(), env: []string{"KGIT_PROCESS_ROOT=" + b.Root()}}
	case *docker.Backend: // podman's socket too, by its address
		return &hostSchedulers{backend: docker.Name, where: b.Host(), env: []string{"DOCKER_HOST=" + b.Host()}}
	}
	return nil
}

// schedulerProc is a running scheduler: its PID and the CronJob version it runs.
type schedulerProc struct {
	pid  int
	hash string
}

// running finds the schedulers of a CronJob by their command lines. The machine's
// processes are read once per command (a sync of many CronJobs reads /proc once); what
// this command starts and stops is kept up to date.
func (h *hostSchedulers) running(app string, k manifest.Key) []schedulerProc {
	if h.procs == nil {
		h.procs = map[string][]schedulerProc{}
		proxy.Processes(func(pid int, a []string) {
			if len(a) == 8 && a[1] == cronCommand && a[2] == "--backend" && a[3] == h.backend && a[4] == h.where {
				h.procs[a[5]+" "+a[6]] = append(h.procs[a[5]+" "+a[6]], schedulerProc{pid: pid, hash: a[7]})
			}
		})
	}
	return h.procs[app+" "+k.Namespace+"/"+k.Name]
}

// Ensure implements controller.Schedulers.
func (h *hostSchedulers) Ensure(ctx context.Context, app string, k manifest.Key, hash string) error {
	var keep []schedulerProc
	for _, p := range h.running(app, k) {
		if p.hash == hash && len(keep) == 0 {
			keep = append(keep, p)
			continue
		}
		proxy.Stop(p.pid)
	}
	id := app + " " + k.Namespace + "/" + k.Name
	h.procs[id] = keep
	if len(keep) > 0 {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := tmpdir.Dir()
	if err != nil {
		return fmt.Errorf("start its scheduler: %w", err)
	}
	log := filepath.Join(tmp, fmt.Sprintf("cron-%s_%s_%s.log", app, k.Namespace, k.Name))
	args := []string{"kgit", cronCommand, "--backend", h.backend, h.where, app, k.Namespace + "/" + k.Name, hash}
	pid, _, err := proxy.Start(exe, args, log, h.env...)
	if err != nil {
		return fmt.Errorf("start its scheduler: %w", err)
	}
	h.procs[id] = []schedulerProc{{pid: pid, hash: hash}}
	return nil
}

// Stop implements controller.Schedulers.
func (h *hostSchedulers) Stop(app string, k manifest.Key) {
	for _, p := range h.running(app, k) {
		proxy.Stop(p.pid)
	}
	delete(h.procs, app+" "+k.Namespace+"/"+k.Name)
}
