package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/render"
	"kgit.dev/kgit/reconcile"
)

// Steady syncs. Cron and --watch sync apps that mostly have not changed, so a sync that
// changes nothing is kgit's hottest path. When a sync of a commit changed nothing and
// converged, on a backend that fingerprints its state (backend.Fingerprinter), and its
// fingerprint was the same before and after, kgit keeps a verdict in the state
// directory: the key of what the sync's desired objects depend on (the commit, the path,
// the render options, this build of kgit, the flags) and that fingerprint. The next sync
// whose key and fingerprint (taken under the app's lock) are the same is that same
// no-op: it is journalled and reported as one without parsing the manifests or reading
// the records. Any change to the backend (a dead or deleted pod, a record edited by
// hand, a scale or a rollback) changes the fingerprint, and the sync runs in full.
//
// The verdict is disposable, like the whole state directory: a missing, unreadable or
// corrupt one is a full sync. It holds no object, only digests and the warnings the
// manifests gave; a commit that needed a SOPS file decrypted never leaves one, nor one
// that holds a kind whose controller acts on time rather than on state (a Job's
// deadline, a CronJob's schedule, an autoscaler's measured CPU), whose no-op now may
// not be one later.

// steadyKinds are the kinds whose local controllers, once converged, act only on a change
// of state, never on the passing of time. Kinds kept as records qualify too.
var steadyKinds = map[string]bool{
	"Deployment": true, "ReplicaSet": true, "StatefulSet": true, "DaemonSet": true, "Pod": true,
	"Service": true, "ConfigMap": true, "Secret": true,
}

// steadyVerdict is the file kept per app and backend.
type steadyVerdict struct {
	Key         string   `json:"key"`
	Fingerprint string   `json:"fingerprint"`
	Warnings    []string `json:"warnings,omitempty"`
}

// steadyOf says whether a desired set may leave a verdict.
func steadyOf(objs []*manifest.Object, decrypted bool) bool {
	if decrypted {
		return false
	}
	for _, o := range objs {
		if k := o.Kind(); k.Modelled() && !steadyKinds[k.Kind] {
			return false
		}
	}
	return true
}

// steadyFile is where the verdict of app on a site is kept.
func (g *globals) steadyFile(st *site, app string) string {
	sum := sha256.Sum256([]byte(st.name + "\x00" + app))
	return filepath.Join(g.state(), "steady", hex.EncodeToString(sum[:16])+".json")
}

// steadyKey names everything a sync's outcome depends on besides the backend's state.
func (g *globals) steadyKey(st *site, app, commit string, f *syncFlags) (string, error) {
	src, err := g.source()
	if err != nil {
		return "", err
	}
	parts := []string{"steady/1", app, st.name, commit, src.Repo, src.Path, g.objectNamespace(), buildStamp(), helmStamp(render.Helm),
		strconv.FormatBool(g.allowHostAccess), strconv.FormatBool(f.prune), strconv.FormatBool(f.allowEmpty)}
	parts = append(append(append(parts, "values"), g.helmValues...), "set")
	return strings.Join(append(parts, g.helmSet...), "\x00"), nil
}

// fingerprinter is the site's backend when it fingerprints its state.
func (st *site) fingerprinter() (backend.Fingerprinter, bool) {
	if st.backend == nil {
		return nil, false
	}
	fp, ok := st.backend.(backend.Fingerprinter)
	return fp, ok
}

// steadySync is the sync of a commit whose verdict holds: it reports whether it synced.
// When it did not, nothing was done and the full sync follows.
func steadySync(ctx context.Context, g *globals, f *syncFlags, st *site) (bool, error) {
	fp, ok := st.fingerprinter()
	if !ok || f.force {
		return false, nil
	}
	started := time.Now()
	app, err := g.appName()
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(g.steadyFile(st, app))
	if err != nil {
		return false, nil
	}
	var v steadyVerdict
	if json.Unmarshal(data, &v) != nil || v.Key == "" || v.Fingerprint == "" {
		return false, nil
	}
	repo, c, err := g.head(ctx)
	if err != nil {
		return false, err
	}
	if key, err := g.steadyKey(st, app, c.Hash, f); err != nil || key != v.Key {
		return false, err
	}
	// The commit must still pass --verify-signatures: the keys may have changed.
	if _, err := g.trust.verifyCommit(repo, "", c, appliedCommits(ctx, g, st, app)); err != nil {
		return false, err
	}
	release, err := st.backend.Lock(ctx, app, f.waitLock)
	if err != nil {
		return false, err
	}
	defer release()
	if now, err := fp.Fingerprint(ctx, app); err != nil || now != v.Fingerprint {
		return false, nil
	}
	for _, w := range v.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(g.stderr, "syncing app %s at %.12s (%s)\n", app, c.Hash, c.Subject)
	journal := reconcile.OpenJournal(g.state())
	defer journal.Close()
	rec := reconcile.SyncRecord{App: app, Commit: c.Hash, User: userName(), Started: started.UTC(), Duration: time.Since(started), Result: "synced"}
	rec.Repo, rec.Path, rec.Ref = g.sourceRecord()
	journal.RecordSync(rec)
	if f.output == "json" {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(syncResult{App: app, Commit: c.Hash, Changes: []string{}, Result: "synced", Duration: time.Since(started).String()}); err != nil {
			return true, err
		}
	}
	fmt.Fprintf(g.stderr, "app %s synced at %.12s in %s\n", app, c.Hash, time.Since(started).Round(time.Millisecond))
	return true, nil
}

// steadyWatch follows a full sync of want: before it, it drops the app's verdict and
// takes the backend's fingerprint; keep, after the sync, keeps a verdict when the sync
// changed nothing (no event, the same fingerprint) and converged.
type steadyWatch struct {
	g      *globals
	st     *site
	fp     backend.Fingerprinter
	path   string
	key    string
	before string
	want   *desired
}

// watchSteady starts a steadyWatch; nil when no verdict can be kept. It runs under the
// app's lock.
func watchSteady(ctx context.Context, g *globals, f *syncFlags, st *site, want *desired) *steadyWatch {
	fp, ok := st.fingerprinter()
	if !ok {
		return nil
	}
	path := g.steadyFile(st, want.app)
	_ = os.Remove(path)
	if f.force || f.watch || !want.steady { // --watch keeps its parse and trusts no verdict
		return nil
	}
	key, err := g.steadyKey(st, want.app, want.rev.Commit, f)
	if err != nil {
		return nil
	}
	before, err := fp.Fingerprint(ctx, want.app)
	if err != nil {
		return nil
	}
	return &steadyWatch{g: g, st: st, fp: fp, path: path, key: key, before: before, want: want}
}

// keep writes the verdict of a sync that ended with err and emitted events.
func (w *steadyWatch) keep(ctx context.Context, err error, events int) {
	if w == nil || err != nil || events > 0 {
		return
	}
	after, ferr := w.fp.Fingerprint(ctx, w.want.app)
	if ferr != nil || after != w.before {
		return
	}
	data, jerr := json.Marshal(steadyVerdict{Key: w.key, Fingerprint: after, Warnings: w.want.warnings})
	if jerr != nil || os.MkdirAll(filepath.Dir(w.path), 0o700) != nil {
		return
	}
	tmp, terr := os.CreateTemp(filepath.Dir(w.path), ".tmp-*")
	if terr != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), w.path) != nil {
		os.Remove(tmp.Name())
	}
}
