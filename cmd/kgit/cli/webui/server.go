package webui

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// Options configure a Server.
type Options struct {
	Interval time.Duration // how often the hub reads while pages follow (default 2s)
	Token    string        // when set, every request must carry it (required off loopback)
	Loopback bool          // the server listens on loopback only: check the Host header
}

// Server is the web view's HTTP handler.
type Server struct {
	hub   *hub
	src   Source
	opts  Options
	mux   *http.ServeMux
	start time.Time

	mu      sync.Mutex
	cacheOf *Snapshot         // the snapshot cache holds the pages of
	cache   map[string][]byte // by page
}

// ErrNotFound is a missing app, object or page.
var ErrNotFound = errors.New("not found")

// New returns the handler; Run must be called for live updates.
func New(src Source, opts Options) *Server {
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	s := &Server{src: src, opts: opts, mux: http.NewServeMux(), start: time.Now()}
	s.hub = newHub(src, opts.Interval, func(snap *Snapshot, page string) ([]byte, error) { return s.view(snap, page) })
	static, _ := fs.Sub(assets, "assets")
	s.mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/apps", http.StatusFound) })
	s.mux.HandleFunc("/apps", s.shell)
	s.mux.HandleFunc("/apps/", s.shell)
	s.mux.HandleFunc("/events", s.shell)
	s.mux.HandleFunc("/api/stream", s.stream)
	s.mux.HandleFunc("/api/logs/{app}/{pod}", s.logs)
	s.mux.HandleFunc("/api/", s.api)
	return s
}

// Run keeps the hub reading while pages follow, until ctx ends.
func (s *Server) Run(ctx context.Context) { s.hub.run(ctx) }

// Reads is how many times the server read its Source.
func (s *Server) Reads() int { return s.hub.Reads() }

// ServeHTTP applies the rules every request obeys: GET (or HEAD) only, the token when
// one is set, a loopback Host when listening on loopback (no DNS rebinding), and
// headers that keep the page to its own scripts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "kgit ui is read-only: only GET is allowed", http.StatusMethodNotAllowed)
		return
	}
	if s.opts.Loopback && !loopbackHost(r.Host) {
		http.Error(w, "kgit ui answers only to localhost, 127.0.0.1 and [::1]", http.StatusForbidden)
		return
	}
	if s.opts.Token != "" && !s.authorized(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authorized checks the token: the kgit-ui cookie, an Authorization: Bearer header, or
// ?token= (which sets the cookie and redirects to the same page without it).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	same := func(t string) bool { return subtle.ConstantTimeCompare([]byte(t), []byte(s.opts.Token)) == 1 }
	if q := r.URL.Query().Get("token"); q != "" && same(q) {
		http.SetCookie(w, &http.Cookie{Name: "kgit-ui", Value: q, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		u := *r.URL
		v := u.Query()
		v.Del("token")
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return false
	}
	if c, err := r.Cookie("kgit-ui"); err == nil && same(c.Value) {
		return true
	}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && same(b) {
		return true
	}
	http.Error(w, "kgit ui: a token is required (open the address kgit ui printed, with ?token=...)", http.StatusUnauthorized)
	return false
}

func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) shell(w http.ResponseWriter, r *http.Request) {
	data, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(data)
}

// api serves /api/PAGE as JSON: the data of the page at /PAGE.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	snap, err := s.hub.current(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	data, err := s.view(snap, strings.TrimPrefix(r.URL.Path, "/api"), r.URL.Query())
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(data)
}

// stream follows a page (?path=/apps/NAME) over server-sent events: its data now, then
// again whenever the hub's read changes it.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	u, err := url.Parse(r.URL.Query().Get("path"))
	if err != nil || !strings.HasPrefix(u.Path, "/") {
		http.Error(w, "stream: ?path=/PAGE expected", http.StatusBadRequest)
		return
	}
	page := u.Path
	if u.RawQuery != "" {
		page += "?" + u.RawQuery
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: %d\n\n", s.opts.Interval.Milliseconds())
	sub := s.hub.subscribe(page)
	defer s.hub.unsubscribe(sub)
	if snap, err := s.hub.current(r.Context()); err == nil {
		s.hub.offer(sub, snap, map[string][]byte{})
	} else {
		sub.ch <- errorPayload(err)
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case data := <-sub.ch:
			fmt.Fprintf(w, "data: %s\n\n", data) // JSON holds no raw newline
		case <-keepalive.C:
			io.WriteString(w, ": keepalive\n\n")
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func errorPayload(err error) []byte {
	data, _ := json.Marshal(map[string]string{"error": err.Error()})
	return data
}

// view renders the data of a page (/apps, /apps/NAME, ...) from a snapshot as JSON,
// once per snapshot: the pages of an interval share it.
func (s *Server) view(snap *Snapshot, page string, extra ...url.Values) ([]byte, error) {
	key := page
	for _, e := range extra {
		key += "?" + e.Encode()
	}
	s.mu.Lock()
	if s.cacheOf != snap {
		s.cacheOf, s.cache = snap, map[string][]byte{}
	}
	data, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return data, nil
	}
	data, err := s.render(snap, page, extra...)
	if err == nil {
		s.mu.Lock()
		if s.cacheOf == snap {
			s.cache[key] = data
		}
		s.mu.Unlock()
	}
	return data, err
}

func (s *Server) render(snap *Snapshot, page string, extra ...url.Values) ([]byte, error) {
	path, rawQuery, _ := strings.Cut(page, "?")
	q, _ := url.ParseQuery(rawQuery)
	for _, e := range extra {
		for k, v := range e {
			q[k] = v
		}
	}
	v, err := s.page(snap, path, q)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func (s *Server) page(snap *Snapshot, path string, q url.Values) (any, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	head := struct {
		Time    time.Time `json:"time"`
		Backend string    `json:"backend"`
	}{snap.Time, snap.Backend}
	if len(parts) == 1 && parts[0] == "events" {
		return map[string]any{"meta": head, "events": filterEvents(snap.Events, q)}, nil
	}
	if parts[0] != "apps" {
		return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	if len(parts) == 1 {
		rows := make([]*Summary, len(snap.Apps))
		for i, a := range snap.Apps {
			rows[i] = &a.Summary
		}
		return map[string]any{"meta": head, "apps": rows}, nil
	}
	app := snap.App(parts[1])
	if app == nil {
		return nil, fmt.Errorf("app %q: %w", parts[1], ErrNotFound)
	}
	switch {
	case len(parts) == 2:
		return map[string]any{"meta": head, "app": app.Summary, "nodes": app.Nodes}, nil
	case len(parts) == 3 && parts[2] == "history":
		return map[string]any{"meta": head, "app": app.Summary, "history": app.History}, nil
	case len(parts) == 3 && parts[2] == "diff":
		return map[string]any{"meta": head, "app": app.Summary, "diffs": app.Diffs}, nil
	case len(parts) == 3 && parts[2] == "events":
		q.Set("app", app.Name)
		return map[string]any{"meta": head, "app": app.Summary, "events": filterEvents(snap.Events, q)}, nil
	case len(parts) == 5 && parts[2] == "objects":
		d, err := s.src.Object(context.Background(), snap, app.Name, parts[3], parts[4])
		if err != nil {
			return nil, err
		}
		return map[string]any{"meta": head, "app": app.Summary, "object": d}, nil
	}
	return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
}

// filterEvents keeps the events that match ?app=, ?kind= (of the object), ?reason=,
// ?q= (in the message) and ?warning=1, newest first, at most 500.
func filterEvents(events []Event, q url.Values) []Event {
	out := []Event{}
	kind := strings.ToLower(q.Get("kind"))
	text := strings.ToLower(q.Get("q"))
	for i := len(events) - 1; i >= 0 && len(out) < 500; i-- {
		e := events[i]
		if a := q.Get("app"); a != "" && e.App != a {
			continue
		}
		if r := q.Get("reason"); r != "" && !strings.EqualFold(e.Reason, r) {
			continue
		}
		if kind != "" && !strings.HasPrefix(strings.ToLower(e.Object), kind+"/") && !strings.HasPrefix(strings.ToLower(e.Object), kind+".") {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(e.Message+" "+e.Object), text) {
			continue
		}
		if q.Get("warning") == "1" && !e.Warning {
			continue
		}
		out = append(out, e)
	}
	return out
}

// logs streams a pod's log as text: ?container=, ?previous=1, ?follow=1, ?tail=N.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	snap, err := s.hub.current(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	q := r.URL.Query()
	opts := LogOptions{Container: q.Get("container"), Previous: q.Get("previous") == "1", Follow: q.Get("follow") == "1", Tail: -1}
	if t, err := strconv.Atoi(q.Get("tail")); err == nil {
		opts.Tail = t
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	if err := s.src.Logs(r.Context(), snap, r.PathValue("app"), r.PathValue("pod"), opts, fw); err != nil && !fw.wrote {
		code := http.StatusBadGateway
		if errors.Is(err, ErrNotFound) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
	}
}

// flushWriter sends each write at once (a followed log).
type flushWriter struct {
	w     io.Writer
	rc    *http.ResponseController
	wrote bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.wrote = true
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

// SortNodes orders an app's nodes as the tree shows them: by kind, then name.
func SortNodes(nodes []*Node) {
	order := map[string]int{"Deployment": 0, "ReplicaSet": 1, "StatefulSet": 2, "DaemonSet": 3, "Job": 4, "CronJob": 5, "Pod": 6, "Service": 7, "ConfigMap": 8, "Secret": 9}
	rank := func(k string) int {
		if r, ok := order[k]; ok {
			return r
		}
		return 100
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := nodes[i], nodes[j]
		if rank(a.Kind) != rank(b.Kind) {
			return rank(a.Kind) < rank(b.Kind)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
}
