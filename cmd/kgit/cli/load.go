package cli

import (
	"context"
	"fmt"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"
)

// desired is an app's manifests at one commit, parsed and validated.
type desired struct {
	app     string
	rev     *gitsource.Revision
	objects []*manifest.Object
}

// loadDesired reads, decodes, defaults and validates the source's manifests, and prints
// a warning for each field the backend will not honour. Nothing is changed.
func (g *globals) loadDesired(ctx context.Context, b backend.Backend) (*desired, error) {
	return g.loadDesiredCached(ctx, b, nil)
}

// loadDesiredCached is loadDesired that reuses last's objects when the commit is the
// same (watch mode): an unmoved branch costs a ref lookup, not a parse.
func (g *globals) loadDesiredCached(ctx context.Context, b backend.Backend, last *desired) (*desired, error) {
	app, err := g.appName()
	if err != nil {
		return nil, err
	}
	src, err := g.source()
	if err != nil {
		return nil, err
	}
	repo, err := gitsource.Open(ctx, src)
	if err != nil {
		return nil, err
	}
	commit, err := gitsource.ResolveCommit(repo, src.Ref)
	if err != nil {
		return nil, err
	}
	if last != nil && last.rev.Commit == commit.Hash.String() {
		return last, nil
	}
	rev, err := gitsource.ReadCommit(commit, src.Path)
	if err != nil {
		return nil, err
	}
	objs, err := manifest.Parse(rev.Files)
	if err != nil {
		return nil, fmt.Errorf("invalid manifests at commit %s (nothing was changed):\n%w", rev.Commit[:12], err)
	}
	if err := g.checkHostAccess(b, objs); err != nil {
		return nil, fmt.Errorf("manifests at commit %.12s ask for host access (nothing was changed):\n%w", rev.Commit, err)
	}
	for _, o := range objs {
		for _, w := range manifest.Unhonoured(o, b.Name(), b.Unhonoured()) {
			fmt.Fprintf(g.stderr, "warning: %s\n", w)
		}
	}
	return &desired{app: app, rev: rev, objects: objs}, nil
}

// checkHostAccess refuses, on a backend that isolates pods, manifests that reach into
// the host, unless --allow-host-access.
func (g *globals) checkHostAccess(b backend.Backend, objs []*manifest.Object) error {
	iso, ok := b.(backend.Isolated)
	if !ok || !iso.Isolated() || g.allowHostAccess {
		return nil
	}
	var errs manifest.ErrorList
	for _, o := range objs {
		errs = append(errs, manifest.HostAccess(o)...)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
