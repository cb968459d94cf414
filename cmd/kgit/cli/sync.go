package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/reconcile"
)

type syncFlags struct {
	dryRun, exitCode  bool
	autoRollback      bool
	force             bool
	watch             bool
	interval          time.Duration
	prune, allowEmpty bool
	timeout, waitLock time.Duration
	output            string
}

func newSyncCmd(g *globals) *cobra.Command {
	f := &syncFlags{}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Apply the manifests of a commit to the backend and wait until they run",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSync(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "show what would change (as diff does) and change nothing")
	fl.BoolVar(&f.exitCode, "exit-code", false, "with --dry-run: exit 1 when there are differences")
	fl.BoolVar(&f.prune, "prune", true, "delete objects of this app that are no longer in git")
	fl.BoolVar(&f.autoRollback, "auto-rollback", false, "when a rollout exceeds its progress deadline, roll it back to the last fully available revision (still exit 4)")
	fl.BoolVar(&f.watch, "watch", false, "keep syncing every --interval until SIGINT or SIGTERM: heal dead pods, report drift, follow the branch")
	fl.DurationVar(&f.interval, "interval", time.Minute, "with --watch: time between syncs")
	fl.BoolVar(&f.force, "force", false, "drop every override (rollbacks and scales made by hand) and apply git as it is")
	fl.BoolVar(&f.allowEmpty, "allow-empty", false, "allow a sync of no objects to prune every object of the app")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "give up (exit 2) when the app has not converged by then")
	fl.DurationVar(&f.waitLock, "wait-lock", 0, "wait this long for another sync of the app to finish (default: exit 5 at once)")
	fl.StringVarP(&f.output, "output", "o", "", "output format: json (a summary on stdout)")
	return cmd
}

// syncResult is sync's -o json summary.
type syncResult struct {
	App      string   `json:"app"`
	Commit   string   `json:"commit"`
	Changes  []string `json:"changes"`
	Result   string   `json:"result"`
	Duration string   `json:"duration"`
}

func runSync(ctx context.Context, g *globals, f *syncFlags) error {
	if f.output != "" && f.output != "json" {
		return invalid("--output %q: supported: json", f.output)
	}
	if f.exitCode && !f.dryRun {
		return invalid("--exit-code needs --dry-run")
	}
	if f.watch && f.dryRun {
		return invalid("--watch and --dry-run do not go together")
	}
	b, err := g.backend(ctx)
	if err != nil {
		return err
	}
	if f.watch {
		return watch(ctx, g, f, b)
	}
	want, err := g.loadDesired(ctx, b)
	if err != nil {
		return err
	}
	if f.dryRun {
		return printDiff(ctx, g, b, want, f.exitCode, f.prune)
	}
	_, err = syncOnce(ctx, g, f, b, want)
	return err
}

// syncOnce applies one commit under the app's lock, journals it, and reports it; it
// returns what it changed.
func syncOnce(ctx context.Context, g *globals, f *syncFlags, b backend.Backend, want *desired) ([]string, error) {
	started := time.Now()
	release, err := b.Lock(ctx, want.app, f.waitLock)
	if err != nil {
		return nil, err
	}
	defer release()

	journal := reconcile.OpenJournal(g.state())
	defer journal.Close()
	changes := &changeList{}
	rep := newReporter(g.stderr)
	defer rep.Done()
	r := &reconcile.Reconciler{Backend: b, App: want.app, Events: reconcile.Sinks{rep, journal, changes}, Progress: rep}
	if !f.watch {
		fmt.Fprintf(g.stderr, "syncing app %s at %.12s (%s)\n", want.app, want.rev.Commit, want.rev.Subject)
	}
	sctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	err = r.Sync(sctx, want.objects, reconcile.SyncOptions{Commit: want.rev.Commit, Prune: f.prune, AllowEmpty: f.allowEmpty, Force: f.force})
	var failed *reconcile.RolloutError
	if errors.As(err, &failed) && f.autoRollback {
		err = autoRollback(sctx, g, r, failed)
	}
	rep.Done()
	result := "synced"
	if err != nil {
		result = "failed: " + err.Error()
	}
	who := "unknown"
	if u, uerr := user.Current(); uerr == nil {
		who = u.Username
	}
	journal.RecordSync(reconcile.SyncRecord{App: want.app, Commit: want.rev.Commit, User: who, Started: started.UTC(), Duration: time.Since(started), Result: result})
	if errors.Is(err, reconcile.ErrTimeout) {
		err = fmt.Errorf("sync of app %s did not converge within --timeout %s: %w", want.app, f.timeout, err)
	}
	if f.output == "json" {
		enc := json.NewEncoder(g.stdout)
		if !f.watch {
			enc.SetIndent("", "  ")
		}
		if jerr := enc.Encode(syncResult{App: want.app, Commit: want.rev.Commit, Changes: changes.list(), Result: result, Duration: time.Since(started).String()}); jerr != nil && err == nil {
			err = jerr
		}
	}
	if err != nil {
		return changes.list(), err
	}
	if !f.watch {
		fmt.Fprintf(g.stderr, "app %s synced at %.12s in %s\n", want.app, want.rev.Commit, time.Since(started).Round(time.Millisecond))
	}
	return changes.list(), nil
}

// autoRollback rolls failed Deployments back to their last fully available revision
// and waits for that rollout; the sync still fails (exit 4) with the original error.
func autoRollback(ctx context.Context, g *globals, r *reconcile.Reconciler, failed *reconcile.RolloutError) error {
	fmt.Fprintf(g.stderr, "%v\n", failed)
	if _, err := r.RollbackToLastComplete(ctx, failed.Deployments); err != nil {
		return fmt.Errorf("%w; auto-rollback failed: %v", failed, err)
	}
	if err := r.Converge(ctx); err != nil {
		return fmt.Errorf("%w; the rollback did not converge either: %v", failed, err)
	}
	return fmt.Errorf("%w (rolled back)", failed)
}

// changeList collects what a sync did, for -o json.
type changeList struct {
	mu     sync.Mutex
	events []reconcile.Event
}

func (c *changeList) Event(e reconcile.Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

func (c *changeList) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []string{}
	for _, e := range c.events {
		if e.Reason == "Applied" || e.Reason == "Pruned" || e.Reason == "OverrideKept" {
			out = append(out, e.Message)
		} else {
			out = append(out, e.Object+": "+e.Message)
		}
	}
	return out
}
