package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/cmd/kgit/cli/webui"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"
	"kgit.dev/kgit/reconcile"
	"kgit.dev/kgit/reconcile/controller"
)

type uiFlags struct {
	addr     string
	token    string
	interval time.Duration
}

func newUICmd(g *globals) *cobra.Command {
	f := &uiFlags{}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve a read-only web view of every app on the backend (loopback by default)",
		Long: "Serve a read-only web view of every app on the backend: apps, resource trees, objects\n" +
			"with their YAML, diff, events and logs, history, diff and events, followed live.\n\n" +
			"It listens on 127.0.0.1:8080 by default; another address needs --token (or $KGIT_UI_TOKEN),\n" +
			"which every request must carry (open http://ADDR/?token=TOKEN once). Only GET is served;\n" +
			"Secret values are masked; the page changes nothing (it shows commands to copy).",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error { return runUI(cmd.Context(), g, f) },
	}
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (HOST:PORT; port 0 picks one)")
	cmd.Flags().StringVar(&f.token, "token", "", "a secret every request must carry; required to listen beyond loopback (default $KGIT_UI_TOKEN, which keeps it out of ps)")
	cmd.Flags().DurationVar(&f.interval, "interval", 2*time.Second, "how often the backend is read while pages are open (one read shared by every page)")
	return cmd
}

func runUI(ctx context.Context, g *globals, f *uiFlags) error {
	if f.token == "" {
		f.token = os.Getenv("KGIT_UI_TOKEN") // read here, not as the flag's default, which --help would print
	}
	host, _, err := net.SplitHostPort(f.addr)
	if err != nil {
		return invalid("--addr %q: %v", f.addr, err)
	}
	loopback := host == "localhost" || (net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback())
	if !loopback && f.token == "" {
		return invalid("--addr %s is not a loopback address: set --token (or $KGIT_UI_TOKEN), which every request must then carry", f.addr)
	}
	if f.interval < 100*time.Millisecond {
		return invalid("--interval %s: at least 100ms", f.interval)
	}
	b, err := g.backend(ctx)
	if err != nil {
		return err
	}
	srv := webui.New(newUISource(g, b), webui.Options{Interval: f.interval, Token: f.token, Loopback: loopback})
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + "/apps"
	if f.token != "" {
		url += "?token=TOKEN"
	}
	fmt.Fprintf(g.stderr, "kgit ui: serving %s (read-only, Ctrl-C to stop)\n", url)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go srv.Run(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sourceRecord is the source as the journal records it with a sync, for the web view:
// an absolute path for a local repository, a URL without its credentials.
func (g *globals) sourceRecord() (repo, path, ref string) {
	src, err := g.source()
	if err != nil {
		return "", "", ""
	}
	repo = src.Repo
	if gitsource.IsURL(repo) {
		repo = gitsource.RedactURL(repo)
	} else {
		if repo == "" {
			repo = "."
		}
		if abs, err := filepath.Abs(repo); err == nil {
			repo = abs
		}
	}
	return repo, src.Path, src.Ref
}

// uiSource is the web view's Source over a backend, the journal and git.
type uiSource struct {
	g *globals
	b backend.Backend
	// gitEvery bounds how often an app's repository is looked at (a remote one is
	// fetched when its refs moved).
	gitEvery time.Duration
	mu       sync.Mutex
	git      map[string]*uiGit // by repo, path and ref
}

func newUISource(g *globals, b backend.Backend) *uiSource {
	return &uiSource{g: g, b: b, gitEvery: 10 * time.Second, git: map[string]*uiGit{}}
}

// uiGit is what git says of one app's source, kept between reads.
type uiGit struct {
	checked time.Time
	repo    *gitsource.Repo
	head    *gitsource.Commit
	want    *desired
	err     error
}

// uiState is a snapshot's own data: the states read and the desired objects.
type uiState struct {
	now    time.Time
	states map[string]*controller.State
	want   map[string]*desired
	diffs  map[string]map[string]reconcile.ObjectDiff // by app, by object name
	events []reconcile.Event
}

// listing is a backend whose listings come from one read of every kgit object: the
// apps of a snapshot are loaded from it without reading the backend again.
type listing struct {
	backend.Backend
	records []backend.Record
	pods    []*backend.Pod
	routes  []*backend.Service
	byApp   map[string]*listing // the same, one app's
}

// app narrows a listing to the app a selector names, if it names one.
func (l *listing) app(sel map[string]string) *listing {
	if a, ok := sel[backend.LabelApp]; ok && l.byApp != nil {
		if one := l.byApp[a]; one != nil {
			return one
		}
		return &listing{}
	}
	return l
}

func readListing(ctx context.Context, b backend.Backend) (*listing, error) {
	sel := map[string]string{backend.LabelManagedBy: backend.ManagedBy}
	l := &listing{Backend: b}
	var err error
	if l.records, err = b.ListRecords(ctx, sel); err != nil {
		return nil, err
	}
	if l.pods, err = b.ListPods(ctx, sel); err != nil {
		return nil, err
	}
	if r, ok := backend.RouterOf(b); ok {
		if l.routes, err = r.Routes(ctx, nil); err != nil {
			return nil, err
		}
	}
	l.byApp = map[string]*listing{}
	of := func(labels map[string]string) *listing {
		a := labels[backend.LabelApp]
		if l.byApp[a] == nil {
			l.byApp[a] = &listing{}
		}
		return l.byApp[a]
	}
	for _, r := range l.records {
		one := of(r.Labels)
		one.records = append(one.records, r)
	}
	for _, p := range l.pods {
		one := of(p.Labels)
		one.pods = append(one.pods, p)
	}
	for _, r := range l.routes {
		one := of(r.Labels)
		one.routes = append(one.routes, r)
	}
	return l, nil
}

func (l *listing) ListRecords(_ context.Context, sel map[string]string) ([]backend.Record, error) {
	return matching(l.app(sel).records, func(r backend.Record) map[string]string { return r.Labels }, sel), nil
}

func (l *listing) ListPods(_ context.Context, sel map[string]string) ([]*backend.Pod, error) {
	return matching(l.app(sel).pods, func(p *backend.Pod) map[string]string { return p.Labels }, sel), nil
}

// Routes makes the listing a backend.Router for reading (State.LoadRoutes).
func (l *listing) Routes(_ context.Context, sel map[string]string) ([]*backend.Service, error) {
	return matching(l.app(sel).routes, func(r *backend.Service) map[string]string { return r.Labels }, sel), nil
}

// matching keeps the items whose labels include every selector label.
func matching[T any](items []T, labels func(T) map[string]string, sel map[string]string) []T {
	var out []T
	for _, x := range items {
		if backend.Matches(labels(x), sel) {
			out = append(out, x)
		}
	}
	return out
}

func (l *listing) Route(context.Context, backend.Service) (*backend.Service, error) {
	return nil, errors.New("kgit ui is read-only")
}
func (l *listing) Unroute(context.Context, string, string) error {
	return errors.New("kgit ui is read-only")
}

// Read is the one backend read of an interval: every record, pod and route at once,
// the journal, and git for the apps whose source the journal names.
func (s *uiSource) Read(ctx context.Context) (*webui.Snapshot, error) {
	l, err := readListing(ctx, s.b)
	if err != nil {
		return nil, err
	}
	apps, err := controller.Apps(ctx, l)
	if err != nil {
		return nil, err
	}
	events, syncs, err := reconcile.OpenJournal(s.g.state()).Read("")
	if err != nil {
		return nil, err
	}
	lastSync := map[string]reconcile.SyncRecord{}
	journal := map[string]*uiJournal{}
	of := func(app string) *uiJournal {
		if journal[app] == nil {
			journal[app] = &uiJournal{}
		}
		return journal[app]
	}
	for _, r := range syncs {
		lastSync[r.App] = r
		of(r.App).syncs = append(of(r.App).syncs, r)
	}
	for _, e := range events {
		switch e.Reason {
		case "Restarted", "DeploymentRollback", "Applied", reasonChangeStarted, reasonChangeComplete, reasonChangeFailed:
			of(e.App).changes = append(of(e.App).changes, e)
		}
	}
	for _, j := range journal {
		sort.SliceStable(j.changes, func(a, b int) bool { return j.changes[a].Time.Before(j.changes[b].Time) })
	}
	now := time.Now()
	st := &uiState{now: now, states: map[string]*controller.State{}, want: map[string]*desired{}, diffs: map[string]map[string]reconcile.ObjectDiff{}, events: events}
	snap := &webui.Snapshot{Time: now, Backend: s.b.Name(), Private: st}
	for _, e := range events {
		snap.Events = append(snap.Events, uiEvent(e))
	}
	for _, name := range apps {
		state, err := controller.Load(ctx, l, name)
		if err == nil {
			err = state.LoadRoutes(ctx, l, name)
		}
		if err != nil {
			return nil, err
		}
		st.states[name] = state
		var rec *reconcile.SyncRecord
		if r, ok := lastSync[name]; ok {
			rec = &r
		}
		snap.Apps = append(snap.Apps, s.app(ctx, st, name, state, rec, journal[name], now))
	}
	return snap, nil
}

func uiEvent(e reconcile.Event) webui.Event {
	warning := false
	switch e.Reason {
	case "Unhealthy", "BackOff", "ProgressDeadlineExceeded", "Failed", "FailedCreate", "FailedKillPod", "FailedSync", "DeploymentRollback", reasonChangeFailed:
		warning = true
	}
	return webui.Event{Time: e.Time, App: e.App, Object: e.Object, Reason: e.Reason, Message: e.Message, Warning: warning || strings.HasPrefix(e.Reason, "Failed")}
}

// app builds one app's summary, tree, history and diff.
func (s *uiSource) app(ctx context.Context, st *uiState, name string, state *controller.State, rec *reconcile.SyncRecord, j *uiJournal, now time.Time) *webui.App {
	a := &webui.App{Summary: webui.Summary{Name: name, Behind: -1, Sync: "Unknown", Overrides: []string{}}}
	a.Nodes = uiNodes(state, name, now)
	health := ""
	for _, n := range a.Nodes {
		switch n.Kind {
		case "Deployment", "StatefulSet", "DaemonSet":
			health = webui.Worse(health, n.Health)
			a.PodsDesired += n.Desired
		case "ReplicaSet":
			if n.Parent == "" {
				health = webui.Worse(health, n.Health)
				a.PodsDesired += n.Desired
			}
		case "Pod":
			if n.Parent == "" {
				health = webui.Worse(health, n.Health)
				a.PodsDesired++
			}
			if n.PodReady && !n.Terminated {
				a.PodsReady++
			}
		}
		if n.Override != "" {
			a.Overrides = append(a.Overrides, strings.ToLower(n.Kind)+"/"+n.Name+": "+n.Override)
		}
	}
	if health == "" {
		health = webui.Healthy
		if len(a.Nodes) == 0 {
			health = webui.Missing
		}
	}
	a.Health = health
	// The deployed commit: the last sync's, else the newest record's.
	var newest time.Time
	for _, o := range state.Objects {
		if o.Created.After(newest) && o.Commit != "" {
			newest, a.Commit = o.Created, o.Commit
		}
	}
	if rec != nil {
		a.LastSync = &webui.SyncInfo{Time: rec.Started, Result: rec.Result, Duration: rec.Duration.Round(time.Millisecond).String(), User: rec.User, Commit: rec.Commit}
		a.Repo, a.Path, a.Ref = rec.Repo, rec.Path, rec.Ref
		if strings.HasPrefix(rec.Result, "synced") {
			a.Commit = rec.Commit
		}
	}
	gi := s.gitOf(ctx, name, a)
	if gi != nil && gi.repo != nil {
		if c, ok := gi.repo.Describe(a.Commit); ok {
			a.Subject = c.Subject
		}
	}
	if gi != nil && gi.head != nil {
		a.Head, a.HeadSubject = gi.head.Hash, gi.head.Subject
		if n, ok := gi.repo.Behind(a.Commit, a.Head, 10000); ok {
			a.Behind = n
		}
	}
	switch {
	case gi == nil:
		a.SyncError = "no sync of this app is in this machine's journal, so its source is unknown"
	case gi.err != nil:
		a.SyncError = gi.err.Error()
	default:
		st.want[name] = gi.want
		diffs, err := reconcile.Diff(state, gi.want.objects, true)
		if err != nil {
			a.SyncError = err.Error()
			break
		}
		byName := map[string]reconcile.ObjectDiff{}
		a.Diffs = []webui.Diff{}
		for _, d := range diffs {
			byName[d.Name] = d
			a.Diffs = append(a.Diffs, webui.Diff{Name: d.Name, Action: d.Action, Unified: d.Unified})
		}
		st.diffs[name] = byName
		a.Sync = "Synced"
		if len(diffs) > 0 {
			a.Sync = "OutOfSync"
		}
	}
	// History: every Deployment's revisions, with git's subject and author and the
	// journal's result of the sync (or the change) that made the revision.
	for _, n := range a.Nodes {
		if n.Kind != "Deployment" {
			continue
		}
		key := manifest.Key{Kind: "Deployment", Namespace: n.Namespace, Name: n.Name}
		for _, r := range controller.History(state, key) {
			rv := webui.Revision{Deployment: n.Name, Number: r.Number, Commit: r.Commit, Applied: r.Applied, Current: r.Current, ReplicaSet: r.RS,
				Result: j.result(r, reconcile.ObjectName(key))}
			if gi != nil && gi.repo != nil {
				if c, ok := gi.repo.Describe(r.Commit); ok {
					rv.Subject, rv.Author = c.Subject, c.Author
				}
			}
			a.History = append(a.History, rv)
		}
	}
	sort.SliceStable(a.History, func(i, j int) bool { return a.History[i].Number > a.History[j].Number })
	return a
}

// uiJournal is what this machine's journal holds of one app's rollouts, oldest first:
// its syncs, and the events of the changes made outside a sync (restart, rollback, rollout
// undo: the Deployment events they emit and the outcome change journals).
type uiJournal struct {
	syncs   []reconcile.SyncRecord
	changes []reconcile.Event
}

// result is the journal's result of the rollout that made a revision (its ReplicaSet,
// created at r.Applied): the Result of the sync of its commit that was running then
// ("synced", "failed: ..."), else the outcome of the change that made it ("restarted",
// "rolled back", or either followed by ": failed: ..."); "" when the journal holds
// neither (the revision was made from another machine, or before the journal).
func (j *uiJournal) result(r reconcile.Revision, deploy string) string {
	if j == nil {
		return ""
	}
	for i := len(j.syncs) - 1; i >= 0; i-- {
		s := j.syncs[i]
		if s.Commit == r.Commit && !r.Applied.Before(s.Started) && !r.Applied.After(s.Started.Add(s.Duration)) {
			return s.Result
		}
	}
	// A change: its start and its outcome bound it in the journal; the revision is the
	// change's when it was made between them and the change's event names the
	// Deployment (the event follows the ReplicaSet by a moment: the target makes it
	// while the change applies the Deployment).
	var from time.Time // the change's start; zero outside a change
	made := ""
	for _, e := range j.changes {
		switch {
		case e.Reason == reasonChangeStarted:
			from, made = e.Time, ""
		case from.IsZero():
		case e.Reason == reasonChangeComplete || e.Reason == reasonChangeFailed:
			if made != "" && !r.Applied.Before(from) && !r.Applied.After(e.Time) {
				if e.Reason == reasonChangeFailed {
					return made + ": " + e.Message
				}
				return made
			}
			from = time.Time{}
		case e.Object != deploy:
		case e.Reason == "Restarted":
			made = "restarted"
		default: // DeploymentRollback; Applied: a whole-app rollback applies it outside a sync
			made = "rolled back"
		}
	}
	return ""
}

// gitOf opens the app's source (at most every gitEvery) and renders its head, which is
// kept until the head moves. nil: the journal does not name the source.
func (s *uiSource) gitOf(ctx context.Context, app string, a *webui.App) *uiGit {
	if a.Repo == "" {
		return nil
	}
	key := strings.Join([]string{app, a.Repo, a.Path, a.Ref}, "\x00")
	s.mu.Lock()
	gi := s.git[key]
	if gi == nil {
		gi = &uiGit{}
		s.git[key] = gi
	}
	s.mu.Unlock()
	if time.Since(gi.checked) < s.gitEvery {
		return gi
	}
	gi.checked = time.Now()
	// A globals of the app's own source, quiet: warnings are the CLI's business.
	g := &globals{repo: a.Repo, ref: a.Ref, path: a.Path, app: app, stateDir: s.g.state(), stdout: io.Discard, stderr: io.Discard,
		helmValues: s.g.helmValues, helmSet: s.g.helmSet, allowHostAccess: true}
	g.trust.ageKeyFiles = s.g.trust.ageKeyFiles
	repo, err := g.repository(ctx)
	if err != nil {
		gi.err = err
		return gi
	}
	head, err := repo.Resolve("")
	if err != nil {
		gi.err = err
		return gi
	}
	if gi.repo != nil && gi.repo != repo {
		gi.repo.Close() // its packfiles: a repository is opened again at every look
	}
	gi.repo, gi.err = repo, nil
	if gi.head != nil && gi.head.Hash == head.Hash && gi.want != nil {
		return gi
	}
	gi.head = head
	want, err := g.loadDesired(ctx, &site{name: s.b.Name(), backend: s.b})
	if err != nil {
		gi.err, gi.want = fmt.Errorf("cannot read the desired state at %.12s: %w", head.Hash, err), nil
		return gi
	}
	gi.want = want
	return gi
}

// uiNodes are the app's objects as the resource tree shows them.
func uiNodes(st *controller.State, app string, now time.Time) []*webui.Node {
	var nodes []*webui.Node
	kinds := map[string]bool{}
	for k := range st.Objects {
		if k.Kind != "ReplicaSet" {
			kinds[k.Kind] = true
		}
	}
	users := configUsers(st)
	for _, kind := range append([]string{"ReplicaSet", "Pod"}, sortedKeys(kinds)...) {
		for _, v := range views(st, app, kind, now) {
			nodes = append(nodes, uiNode(st, v, users, now))
		}
	}
	webui.SortNodes(nodes)
	return nodes
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// configUsers maps ConfigMap/NAME and Secret/NAME (namespace/...) to the pods that use
// them: env, envFrom and volumes.
func configUsers(st *controller.State) map[string][]string {
	out := map[string][]string{}
	for _, p := range st.Pods {
		seen := map[string]bool{}
		use := func(kind, name string) {
			k := kind + "/" + p.Namespace + "/" + name
			if name != "" && !seen[k] {
				seen[k] = true
				out[k] = append(out[k], p.Name)
			}
		}
		for _, v := range p.Spec.Volumes {
			if v.ConfigMap != nil {
				use("ConfigMap", v.ConfigMap.Name)
			}
			if v.Secret != nil {
				use("Secret", v.Secret.SecretName)
			}
		}
		for _, c := range append(append([]manifest.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil {
					use("ConfigMap", e.ConfigMapRef.Name)
				}
				if e.SecretRef != nil {
					use("Secret", e.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					use("ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name)
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					use("Secret", e.ValueFrom.SecretKeyRef.Name)
				}
			}
		}
	}
	return out
}

func uiNode(st *controller.State, v view, users map[string][]string, now time.Time) *webui.Node {
	n := &webui.Node{Kind: v.kind, Name: v.name, Namespace: v.namespace, Created: v.created}
	if o := reconcile.OverrideOf(v.annotations); o.Kind != "" {
		n.Override = o.String()
	}
	key := manifest.Key{Kind: v.kind, Namespace: v.namespace, Name: v.name}
	counts := func(desired int, c controller.Counts, updated int) {
		n.Desired, n.Current, n.Ready, n.Available, n.Updated = desired, c.Replicas, c.Ready, c.Available, updated
		switch {
		case desired > 0 && c.Replicas == 0:
			n.Health = webui.Missing
		case c.Available >= desired && updated >= desired && c.Replicas == desired:
			n.Health = webui.Healthy
		default:
			n.Health = webui.Progressing
		}
	}
	switch v.kind {
	case "Pod":
		p := v.pod
		n.Phase, n.PodReady, n.Restarts, n.Address, n.Terminated = p.Status.Phase, p.Status.Ready, int(p.Status.Restarts()), p.Status.PodIP, p.Status.Terminating
		n.Created = p.Created
		for _, c := range p.Spec.Containers {
			n.Containers = append(n.Containers, c.Name)
		}
		switch owner := p.Labels[backend.LabelOwnerKind]; owner {
		case "Deployment", "DaemonSet":
			n.Parent = "ReplicaSet/" + p.Labels[backend.LabelOwner] + "-" + p.Labels[backend.LabelHash]
		case "ReplicaSet":
			n.Parent = "ReplicaSet/" + p.Labels[backend.LabelOwner]
		case "", "Pod":
		default:
			n.Parent = owner + "/" + p.Labels[backend.LabelOwner]
		}
		n.Health = podHealth(p)
		for _, c := range p.Status.Containers {
			if c.State == backend.StateWaiting && c.Reason != "" {
				n.Message = c.Name + ": " + c.Reason
			}
		}
	case "ReplicaSet":
		rs := st.ReplicaSets[v.namespace+"/"+v.name]
		if rs == nil {
			break
		}
		n.Revision, n.Commit, n.Hash = rs.Revision(), rs.Commit, rs.RS.Spec.Template.Labels[controller.HashLabel]
		if rs.Owner.Kind != "ReplicaSet" {
			n.Parent = rs.Owner.Kind + "/" + rs.Owner.Name
		}
		c := rs.Counts(now)
		counts(rs.Replicas(), c, c.Replicas)
	case "Deployment":
		s := v.dstatus
		counts(int(*v.deploy.Spec.Replicas), controller.Counts{Replicas: s.Replicas, Ready: s.Ready, Available: s.Available}, s.Updated)
		n.Revision = s.Revision
		if msg, done, failed, err := st.RolloutStatus(key, now); err == nil {
			n.Message = strings.TrimSpace(msg)
			if failed {
				n.Health = webui.Degraded
			} else if !done && n.Health == webui.Healthy {
				n.Health = webui.Progressing
			}
		}
	case "StatefulSet", "DaemonSet":
		o, _ := v.obj.(map[string]any)
		status, _ := o["status"].(map[string]any)
		num := func(k string) int { x, _ := status[k].(int); return x }
		if v.kind == "StatefulSet" {
			sts := st.Objects[key].Object.(*manifest.StatefulSet)
			counts(int(*sts.Spec.Replicas), controller.Counts{Replicas: num("replicas"), Ready: num("readyReplicas"), Available: num("availableReplicas")}, num("updatedReplicas"))
			if n.Updated == 0 {
				n.Updated = n.Current // before its first update a StatefulSet's pods are all current
			}
		} else {
			counts(1, controller.Counts{Replicas: num("currentNumberScheduled"), Ready: num("numberReady"), Available: num("numberAvailable")}, num("updatedNumberScheduled"))
		}
	case "Service":
		o, _ := v.obj.(map[string]any)
		if spec, ok := o["spec"].(manifest.ServiceSpec); ok {
			n.Type, n.Address = spec.Type, spec.ClusterIP
			var ports []string
			for _, p := range spec.Ports {
				s := fmt.Sprintf("%d/%s", p.Port, orTCP(p.Protocol))
				if p.NodePort != 0 {
					s = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, orTCP(p.Protocol))
				}
				ports = append(ports, s)
			}
			n.Ports = strings.Join(ports, ",")
		}
		if len(v.related) > 0 {
			eps, _ := v.related[0].(map[string]any)
			subsets, _ := eps["subsets"].([]map[string]any)
			for _, s := range subsets {
				addrs, _ := s["addresses"].([]map[string]any)
				ports, _ := s["ports"].([]map[string]any)
				if len(addrs) > 0 && len(ports) > 0 {
					n.Endpoints = append(n.Endpoints, fmt.Sprintf("%v:%v", addrs[0]["ip"], ports[0]["port"]))
				}
			}
		}
	case "ConfigMap", "Secret":
		n.UsedBy = users[v.kind+"/"+v.namespace+"/"+v.name]
	}
	return n
}

func orTCP(p string) string {
	if p == "" {
		return "TCP"
	}
	return p
}

func podHealth(p *backend.Pod) string {
	for _, c := range p.Status.Containers {
		if c.State == backend.StateWaiting && (c.Reason == "CrashLoopBackOff" || strings.Contains(c.Reason, "Err")) {
			return webui.Degraded
		}
	}
	switch {
	case p.Status.Phase == backend.PodFailed:
		return webui.Degraded
	case p.Status.Phase == backend.PodSucceeded, p.Status.Phase == backend.PodRunning && p.Status.Ready:
		return webui.Healthy
	}
	return webui.Progressing
}

// Object is one object's page, from the snapshot: describe, live and desired YAML
// (Secret values masked), their diff, its events.
func (s *uiSource) Object(ctx context.Context, snap *webui.Snapshot, app, kindArg, name string) (*webui.ObjectDetail, error) {
	st, _ := snap.Private.(*uiState)
	state := st.states[app]
	if state == nil {
		return nil, fmt.Errorf("app %q: %w", app, webui.ErrNotFound)
	}
	kind, err := kindOf(kindArg)
	if err != nil {
		kind = kindArg
	}
	var v *view
	for _, x := range views(state, app, kind, st.now) {
		if x.name == name {
			v = &x
			break
		}
	}
	if v == nil {
		return nil, fmt.Errorf("%s %q of app %s: %w", kind, name, app, webui.ErrNotFound)
	}
	users := configUsers(state)
	d := &webui.ObjectDetail{App: app, Node: uiNode(state, *v, users, st.now), Events: []webui.Event{}}
	var buf bytes.Buffer
	if err := describe(&buf, *v, st.events, st.now); err != nil {
		return nil, err
	}
	d.Describe = buf.String()
	live, err := yaml.Marshal(v.obj)
	if err != nil {
		return nil, err
	}
	d.Live = string(live)
	key := manifest.Key{Kind: kind, Namespace: v.namespace, Name: name}
	if want := st.want[app]; want != nil {
		for _, o := range want.objects {
			if o.Key() == key {
				data, err := yaml.Marshal(configObject(o.Obj))
				if err != nil {
					return nil, err
				}
				d.Desired = string(data)
			}
		}
		d.Diff = st.diffs[app][reconcile.ObjectName(key)].Unified
	}
	for _, e := range st.events {
		if e.App == app && aboutObject(e, *v) {
			d.Events = append(d.Events, uiEvent(e))
		}
	}
	return d, nil
}

// Logs writes a pod's log from the backend.
func (s *uiSource) Logs(ctx context.Context, snap *webui.Snapshot, app, pod string, opts webui.LogOptions, w io.Writer) error {
	st, _ := snap.Private.(*uiState)
	state := st.states[app]
	if state == nil {
		return fmt.Errorf("app %q: %w", app, webui.ErrNotFound)
	}
	for _, p := range state.Pods {
		if p.Name != pod {
			continue
		}
		c := opts.Container
		if c == "" {
			c = p.Spec.Containers[0].Name
		}
		return s.b.Logs(ctx, p.ID, c, backend.LogOptions{Follow: opts.Follow, Tail: opts.Tail, Previous: opts.Previous}, w)
	}
	return fmt.Errorf("pod %q of app %s: %w", pod, app, webui.ErrNotFound)
}
