package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"kgit.dev/kgit/reconcile"
)

// changeFlags are the flags of every command that changes an app outside a sync
// (down, scale, rollback, rollout undo).
type changeFlags struct {
	waitLock, timeout time.Duration
}

func (f *changeFlags) register(fl *pflag.FlagSet, wait bool) {
	fl.DurationVar(&f.waitLock, "wait-lock", 0, "wait this long for a running sync of the app to finish (default: exit 5 at once)")
	if wait {
		fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "give up waiting for the rollout (exit 2) after this long")
	}
}

// The journalled start and outcome of a change that waits (restart, rollback, rollout
// undo): kgit ui's history gives the revisions made between them the change's result.
const (
	reasonChangeStarted  = "ChangeStarted"
	reasonChangeComplete = "ChangeComplete"
	reasonChangeFailed   = "ChangeFailed"
)

// change runs do on an app under its lock, with the journal and progress output, and
// then, when wait, waits until the app converges.
func (g *globals) change(ctx context.Context, f *changeFlags, app string, wait bool,
	do func(ctx context.Context, st *site, s *reconcile.Syncer, live reconcile.Live) error) error {
	st, err := g.site(ctx)
	if err != nil {
		return err
	}
	journal := reconcile.OpenJournal(g.state())
	defer journal.Close()
	rep := newReporter(g.stderr)
	defer rep.Done()
	s, err := g.syncer(ctx, st, app, reconcile.Sinks{rep, journal}, rep)
	if err != nil {
		return err
	}
	release, err := s.Target.Lock(ctx, f.waitLock)
	if err != nil {
		return err
	}
	defer release()
	live, err := s.Target.Load(ctx)
	if err != nil {
		return err
	}
	if !wait {
		return do(ctx, st, s, live)
	}
	// The change's start and outcome, in the journal only (a sync's is its SyncRecord):
	// kgit ui's history shows the outcome as the result of the revision a restart or a
	// rollback made between them.
	journal.Event(reconcile.Event{Time: time.Now().UTC(), App: app, Object: "app/" + app, Reason: reasonChangeStarted, Message: "started"})
	err = do(ctx, st, s, live)
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		err = s.Converge(wctx)
		if errors.Is(err, reconcile.ErrTimeout) {
			err = fmt.Errorf("app %s did not converge within --timeout %s: %w", app, f.timeout, err)
		}
	}
	outcome := reconcile.Event{Time: time.Now().UTC(), App: app, Object: "app/" + app, Reason: reasonChangeComplete, Message: "converged"}
	if err != nil {
		outcome.Reason, outcome.Message = reasonChangeFailed, "failed: "+err.Error()
	}
	journal.Event(outcome)
	return err
}

// changeDeployment is change for one Deployment of the source's app, named by
// deploy/NAME, then waits for the rollout.
func (g *globals) changeDeployment(ctx context.Context, f *changeFlags, arg string,
	do func(ctx context.Context, s *reconcile.Syncer, live reconcile.Live, name string) error) error {
	name, err := deployArg(arg)
	if err != nil {
		return err
	}
	app, err := g.appName()
	if err != nil {
		return err
	}
	return g.change(ctx, f, app, true, func(ctx context.Context, _ *site, s *reconcile.Syncer, live reconcile.Live) error {
		return do(ctx, s, live, name)
	})
}
