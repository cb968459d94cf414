package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"kgit.dev/kgit/backend"
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

// change runs f on an app under its lock, with the journal and progress output, and
// then, when wait, drives the controllers until the app converges.
func (g *globals) change(ctx context.Context, f *changeFlags, app string, wait bool,
	do func(ctx context.Context, b backend.Backend, r *reconcile.Reconciler, st *reconcile.State) error) error {
	b, err := g.backend(ctx)
	if err != nil {
		return err
	}
	release, err := b.Lock(ctx, app, f.waitLock)
	if err != nil {
		return err
	}
	defer release()
	journal := reconcile.OpenJournal(g.state())
	defer journal.Close()
	rep := newReporter(g.stderr)
	defer rep.Done()
	r := &reconcile.Reconciler{Backend: b, App: app, Events: reconcile.Sinks{rep, journal}, Progress: rep}
	st, err := reconcile.Load(ctx, b, app)
	if err != nil {
		return err
	}
	if err := do(ctx, b, r, st); err != nil || !wait {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	err = r.Converge(wctx)
	if errors.Is(err, reconcile.ErrTimeout) {
		err = fmt.Errorf("app %s did not converge within --timeout %s: %w", app, f.timeout, err)
	}
	return err
}

// changeDeployment is change for one Deployment of the source's app, named by
// deploy/NAME: it finds it under the lock and hands it to do, then waits for the rollout.
func (g *globals) changeDeployment(ctx context.Context, f *changeFlags, arg string,
	do func(ctx context.Context, r *reconcile.Reconciler, st *reconcile.State, a *reconcile.Applied) error) error {
	name, err := deployArg(arg)
	if err != nil {
		return err
	}
	app, err := g.appName()
	if err != nil {
		return err
	}
	return g.change(ctx, f, app, true, func(ctx context.Context, _ backend.Backend, r *reconcile.Reconciler, st *reconcile.State) error {
		a, err := deploymentIn(st, app, name)
		if err != nil {
			return err
		}
		return do(ctx, r, st, a)
	})
}
