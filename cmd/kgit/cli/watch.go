package cli

import (
	"context"
	"fmt"
	"time"
)

// maxWatchBackoff caps how long watch waits after repeated failures.
const maxWatchBackoff = 10 * time.Minute

// watch syncs every interval until ctx ends (SIGINT, SIGTERM), which stops it cleanly
// and leaves the pods as they are. A failure (git unreachable, a broken commit, a stuck
// rollout, the lock held) is reported and retried with back-off; it never ends the watch.
// The manifests of a commit are parsed once: a cycle on an unmoved branch only lists the
// remote's refs and compares the app with what runs.
func watch(ctx context.Context, g *globals, f *syncFlags, st *site) error {
	if f.interval <= 0 {
		return invalid("--interval must be positive")
	}
	fmt.Fprintf(g.stderr, "watching: a sync every %s (SIGINT or SIGTERM stops)\n", f.interval)
	var last *desired
	wait := f.interval
	for {
		want, err := g.loadDesiredCached(ctx, st, last)
		if err == nil {
			if last == nil || last.rev.Commit != want.rev.Commit {
				fmt.Fprintf(g.stderr, "%s syncing app %s at %.12s (%s)\n", stamp(), want.app, want.rev.Commit, want.rev.Subject)
			}
			last = want
			var changes []string
			changes, err = syncOnce(ctx, g, f, st, want)
			if err == nil && len(changes) > 0 {
				fmt.Fprintf(g.stderr, "%s app %s converged at %.12s (%d changes)\n", stamp(), want.app, want.rev.Commit, len(changes))
			}
		}
		switch {
		case ctx.Err() != nil:
			fmt.Fprintf(g.stderr, "%s watch stopped\n", stamp())
			return nil
		case err != nil:
			wait = min(2*wait, max(f.interval, maxWatchBackoff))
			fmt.Fprintf(g.stderr, "%s sync failed (next try in %s): %v\n", stamp(), wait, err)
		default:
			wait = f.interval
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(g.stderr, "%s watch stopped\n", stamp())
			return nil
		case <-time.After(wait):
		}
	}
}

func stamp() string { return time.Now().Format("15:04:05") }
