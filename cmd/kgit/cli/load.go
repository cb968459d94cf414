package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"
	"kgit.dev/kgit/manifest/render"
)

// desired is an app's manifests at one commit, parsed and validated.
type desired struct {
	app     string
	rev     *gitsource.Revision
	objects []*manifest.Object
	// warnings are the ones printed about fields and kinds the backend does not honour.
	warnings []string
	// steady: a sync of these objects that changes nothing may leave a verdict (see
	// steady.go): no file was decrypted, and every kind acts on state, not time.
	steady bool
}

// loadDesired reads, decodes, defaults and validates the source's manifests, and prints
// a warning for each field the backend will not honour. Nothing is changed.
func (g *globals) loadDesired(ctx context.Context, st *site) (*desired, error) {
	return g.loadDesiredCached(ctx, st, nil)
}

// loadDesiredCached is loadDesired that reuses last's objects when the commit is the
// same (watch mode): an unmoved branch costs a ref lookup, not a parse.
func (g *globals) loadDesiredCached(ctx context.Context, st *site, last *desired) (*desired, error) {
	app, err := g.appName()
	if err != nil {
		return nil, err
	}
	if last != nil && g.opened != nil {
		g.opened.Close() // watch: each cycle looks at the remote again
		g.opened = nil
	}
	repo, commit, err := g.head(ctx)
	if err != nil {
		return nil, err
	}
	if last != nil && last.rev.Commit == commit.Hash {
		return last, nil
	}
	r, err := g.render(ctx, repo, "", commit, st, appliedCommits(ctx, g, st, app))
	if err != nil {
		return nil, err
	}
	want := &desired{app: app, rev: r.rev, objects: r.objs, steady: steadyOf(r.objs, r.decrypted)}
	if st.backend != nil { // a cluster runs every kind and honours every field
		for _, o := range r.objs {
			for _, w := range manifest.Unhonoured(o, st.name, st.capabilities().Unhonoured) {
				want.warnings = append(want.warnings, w.String())
			}
		}
		for _, w := range manifest.KindWarnings(r.objs, st.name) {
			want.warnings = append(want.warnings, w.String())
		}
	}
	for _, w := range want.warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	return want, nil
}

// head opens the source's repository and resolves --ref.
func (g *globals) head(ctx context.Context) (*gitsource.Repo, *gitsource.Commit, error) {
	repo, err := g.repository(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := repo.Resolve("")
	return repo, c, err
}

// rendered is what a commit renders to: its description, the render (kind, entry,
// documents), and the objects decoded, defaulted and validated.
type rendered struct {
	rev       *gitsource.Revision
	res       *render.Result
	objs      []*manifest.Object
	decrypted bool // a SOPS file was decrypted: nothing of it may be kept
}

// renderCommit verifies a commit's signatures (as --verify-signatures asks), renders its
// --path (a plain folder, a kustomization or a Helm chart) over its tree with SOPS files
// decrypted in memory, and decodes and validates everything. Nothing is changed. ref is
// what c was resolved from ("" for the source's --ref); deployed lists the commits the
// app runs now (for strict verification).
func (g *globals) renderCommit(ctx context.Context, repo *gitsource.Repo, ref string, c *gitsource.Commit, deployed func() []string) (*rendered, error) {
	if _, err := g.trust.verifyCommit(repo, ref, c, deployed); err != nil {
		return nil, err
	}
	tree, err := c.FS()
	if err != nil {
		return nil, err
	}
	fsys, err := g.trust.decrypting(tree)
	if err != nil {
		return nil, err
	}
	src, err := g.source()
	if err != nil {
		return nil, err
	}
	app, err := g.appName()
	if err != nil {
		return nil, err
	}
	opts := render.Options{Release: app, Namespace: g.objectNamespace(), ValueFiles: g.helmValues, Set: g.helmSet}
	res, err := g.renderCached(ctx, fsys, c, src.Path, opts)
	if err != nil {
		if errors.Is(err, render.ErrPathMissing) {
			return nil, invalid("%v at commit %.12s (nothing was changed)", err, c.Hash)
		}
		if err = sopsError(err); exitCode(err) == ExitInvalid {
			return nil, fmt.Errorf("cannot render %s at commit %.12s (nothing was changed):\n%w", orRoot(src.Path), c.Hash, err)
		}
		return nil, err
	}
	objs, err := manifest.Parse(res.Files())
	if err == nil {
		inNamespace(objs, g.objectNamespace())
		err = sealDecrypted(objs, fsys, res.Kind != render.Plain)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid manifests at commit %.12s (nothing was changed):\n%w", c.Hash, err)
	}
	return &rendered{rev: c.Revision(), res: res, objs: objs, decrypted: fsys.any()}, nil
}

// renderCached renders dir of a commit's tree, through the render cache of the state
// directory for what takes long (a kustomization, a chart). A render that decrypted a
// file is never kept.
func (g *globals) renderCached(ctx context.Context, fsys *decryptFS, c *gitsource.Commit, dir string, opts render.Options) (*render.Result, error) {
	kind, _, err := render.Detect(fsys, dir)
	if err != nil || kind == render.Plain {
		return render.Render(ctx, fsys, dir, opts)
	}
	cache := render.Cache{Dir: filepath.Join(g.state(), "render")}
	key := strings.Join(append([]string{"render/1", c.Tree, dir, kind.String(), opts.Release, opts.Namespace, buildStamp(), helmStamp(kind)},
		append(append([]string{}, opts.ValueFiles...), opts.Set...)...), "\x00")
	if res, ok := cache.Get(key); ok {
		return res, nil
	}
	res, err := render.Render(ctx, fsys, dir, opts)
	if err == nil && !fsys.any() {
		cache.Put(key, res)
	}
	return res, err
}

// buildStamp names this build of kgit, for cache keys: its binary's path, size and time.
func buildStamp() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return exe
	}
	return fmt.Sprintf("%s:%d:%d", exe, fi.Size(), fi.ModTime().UnixNano())
}

// helmStamp names the helm program a chart renders with (its output depends on it).
func helmStamp(kind render.Kind) string {
	if kind != render.Helm {
		return ""
	}
	p, err := exec.LookPath("helm")
	if err != nil {
		return "no helm"
	}
	fi, err := os.Stat(p)
	if err != nil {
		return p
	}
	return fmt.Sprintf("%s:%d:%d", p, fi.Size(), fi.ModTime().UnixNano())
}

func orRoot(p string) string {
	if p == "" {
		return "the repository's root"
	}
	return p
}

// render is renderCommit for a commit to deploy on b: host access is refused where the
// backend isolates pods.
func (g *globals) render(ctx context.Context, repo *gitsource.Repo, ref string, c *gitsource.Commit, st *site, deployed func() []string) (*rendered, error) {
	r, err := g.renderCommit(ctx, repo, ref, c, deployed)
	if err != nil {
		return nil, err
	}
	if err := g.checkHostAccess(st.capabilities(), r.objs); err != nil {
		return nil, fmt.Errorf("manifests at commit %.12s ask for host access (nothing was changed):\n%w", c.Hash, err)
	}
	return r, nil
}

// checkHostAccess refuses, on a backend that isolates pods, manifests that reach into
// the host, unless --allow-host-access.
func (g *globals) checkHostAccess(caps backend.Capabilities, objs []*manifest.Object) error {
	if !caps.Isolated || g.allowHostAccess {
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
