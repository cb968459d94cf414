package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend/kubernetes"
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
	g.trust.register(cmd.Flags())
	g.cluster.registerNamespace(cmd.Flags())
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
	st, err := g.site(ctx)
	if err != nil {
		return err
	}
	if f.watch {
		return watch(ctx, g, f, st)
	}
	if !f.dryRun {
		if done, err := steadySync(ctx, g, f, st); done || err != nil {
			return err
		}
	}
	want, err := g.loadDesired(ctx, st)
	if err != nil {
		return err
	}
	if f.dryRun {
		return printDiff(ctx, g, st, want, f.exitCode, f.prune)
	}
	_, err = syncOnce(ctx, g, f, st, want)
	return err
}

// syncOnce applies one commit under the app's lock, journals it, and reports it; it
// returns what it changed.
func syncOnce(ctx context.Context, g *globals, f *syncFlags, st *site, want *desired) ([]string, error) {
	started := time.Now()
	changes := &changeList{}
	rep := newReporter(g.stderr)
	defer rep.Done()
	journal := reconcile.OpenJournal(g.state())
	defer journal.Close()
	s, err := g.syncer(ctx, st, want.app, reconcile.Sinks{rep, journal, changes}, rep)
	if err != nil {
		return nil, err
	}
	release, err := s.Target.Lock(ctx, f.waitLock)
	if err != nil {
		return nil, err
	}
	defer release()
	if !f.watch {
		fmt.Fprintf(g.stderr, "syncing app %s at %.12s (%s)\n", want.app, want.rev.Commit, want.rev.Subject)
	}
	sctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	objs := want.objects
	if st.backend == nil {
		objs = kubernetes.Staged(objs) // Namespaces and CRDs first, as a cluster needs them
	}
	steady := watchSteady(sctx, g, f, st, want)
	err = s.Sync(sctx, objs, reconcile.SyncOptions{Commit: want.rev.Commit, Prune: f.prune, AllowEmpty: f.allowEmpty, Force: f.force})
	steady.keep(sctx, err, len(changes.Events()))
	var failed *reconcile.RolloutError
	if errors.As(err, &failed) && f.autoRollback {
		err = autoRollback(sctx, g, s, failed)
	}
	rep.Done()
	result := "synced"
	if err != nil {
		result = "failed: " + err.Error()
	}
	rec := reconcile.SyncRecord{App: want.app, Commit: want.rev.Commit, User: userName(), Started: started.UTC(), Duration: time.Since(started), Result: result}
	rec.Repo, rec.Path, rec.Ref = g.sourceRecord()
	journal.RecordSync(rec)
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

// userName is who runs kgit, for the journal.
func userName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// autoRollback rolls failed Deployments back to their last fully available revision
// and waits for that rollout; the sync still fails (exit 4) with the original error,
// which Main prints once.
func autoRollback(ctx context.Context, g *globals, s *reconcile.Syncer, failed *reconcile.RolloutError) error {
	_, err := s.AutoRollback(ctx, failed) // what it did, it printed as events
	if err != nil {
		return fmt.Errorf("%w; the auto-rollback failed too: %v", failed, err)
	}
	return fmt.Errorf("%w (rolled back)", failed)
}

// changeList collects what a sync did, for -o json.
type changeList struct{ reconcile.Recorder }

func (c *changeList) list() []string {
	out := []string{}
	for _, e := range c.Events() {
		if e.Reason == "Applied" || e.Reason == "Pruned" || e.Reason == "OverrideKept" {
			out = append(out, e.Message)
		} else {
			out = append(out, e.Object+": "+e.Message)
		}
	}
	return out
}
