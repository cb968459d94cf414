package backendtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// reliedOn are the pod fields (as manifest.Unhonoured matches them) whose effect the
// suite checks on every backend: a backend cannot declare that it ignores any of them,
// nor any field that holds one of them.
var reliedOn = []string{
	"containers", "containers[].name", "containers[].image", "containers[].command", "containers[].args",
	"containers[].env", "containers[].ports", "containers[].ports[].containerPort",
	"containers[].readinessProbe", "containers[].readinessProbe.httpGet",
	"restartPolicy", "terminationGracePeriodSeconds",
}

// unhonoured checks the fields the backend declares it ignores (see unhonouredProblems).
func (s *suite) unhonoured(t *testing.T) {
	for _, p := range unhonouredProblems(s.b.Name(), s.b.Capabilities()) {
		t.Error(p)
	}
}

// unhonouredProblems checks the fields a backend declares it ignores: each one is a
// field of the pod spec (resolved through manifest.PodSpec's JSON names as far as kgit
// models it), each one set in a manifest draws its warning from manifest.Unhonoured, none
// is listed twice, none is (or holds) a field the suite relies on, and, on a backend that
// isolates pods, none is (or holds) a host-access field: kgit refuses those there unless
// the user allows them, and then they must take effect.
func unhonouredProblems(name string, c backend.Capabilities) []string {
	var out []string
	honoured := slices.Clone(reliedOn)
	if c.Isolated {
		host, err := hostAccessFields()
		if err != nil {
			return []string{err.Error()}
		}
		honoured = append(honoured, host...)
	}
	seen := map[string]bool{}
	for _, path := range c.Unhonoured {
		if seen[path] {
			out = append(out, fmt.Sprintf("Unhonoured lists %q twice", path))
		}
		seen[path] = true
		if err := resolvePodField(path); err != nil {
			out = append(out, fmt.Sprintf("Unhonoured lists %q: %v", path, err))
			continue
		}
		for _, f := range honoured {
			if f == path || strings.HasPrefix(f, path+".") || strings.HasPrefix(f, path+"[]") {
				out = append(out, fmt.Sprintf("Unhonoured lists %q, which holds %q: a field the backend must honour", path, f))
			}
		}
		if err := warnedFor(name, path, c.Unhonoured); err != nil {
			out = append(out, fmt.Sprintf("Unhonoured lists %q, but %v", path, err))
		}
	}
	return out
}

// resolvePodField walks a field path (list indices as []) through manifest.PodSpec by
// the JSON names of its fields. Past a field kgit keeps as raw JSON (a valid Kubernetes
// field it does not model) or into a map, the rest is the field's own and not resolved.
func resolvePodField(path string) error {
	t := reflect.TypeOf(manifest.PodSpec{})
	walked := ""
	for seg := range strings.SplitSeq(path, ".") {
		name, list := strings.CutSuffix(seg, "[]")
		if name == "" || strings.Contains(name, "[") {
			return fmt.Errorf("%q is not a field name", seg)
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t == reflect.TypeOf(json.RawMessage{}) || t.Kind() == reflect.Map:
			return nil
		case t.Kind() != reflect.Struct:
			return fmt.Errorf("%s is a %s, it has no field %q", walked, t.Kind(), name)
		}
		ft, ok := jsonField(t, name)
		if !ok {
			return fmt.Errorf("%s has no field %q", orSpec(walked), name)
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case !list || ft == reflect.TypeOf(json.RawMessage{}):
		case ft.Kind() == reflect.Slice:
			ft = ft.Elem()
		default:
			return fmt.Errorf("%s.%s is not a list", orSpec(walked), name)
		}
		t, walked = ft, strings.TrimPrefix(walked+"."+seg, ".")
	}
	return nil
}

func orSpec(path string) string {
	if path == "" {
		return "the pod spec"
	}
	return path
}

// jsonField finds a struct's field by its JSON name, through embedded structs.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if ft, ok := jsonField(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == name || tag == "" && f.Name == name {
			return f.Type, true
		}
	}
	return nil, false
}

// warnedFor decodes a Pod that sets the field at path and says why manifest.Unhonoured,
// given the backend's list, does not warn for it (nil: it does).
func warnedFor(name, path string, patterns []string) error {
	spec := map[string]any{}
	set(spec, strings.Split(path, "."), reflect.TypeOf(manifest.PodSpec{}))
	doc, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "unhonoured"}, "spec": spec}, "", "  ")
	if err != nil {
		return err
	}
	objs, err := manifest.Decode("pod.json", doc)
	if err != nil || len(objs) != 1 {
		return fmt.Errorf("a Pod that sets spec.%s does not decode: %v\n%s", path, err, doc)
	}
	for _, w := range manifest.Unhonoured(objs[0], name, patterns) {
		if indices.ReplaceAllString(w.Path, "[]") == "spec."+path {
			return nil
		}
	}
	return fmt.Errorf("a Pod that sets spec.%s draws no warning from manifest.Unhonoured", path)
}

var indices = regexp.MustCompile(`\[\d+\]`)

// set writes, under m, the path's fields with a value of the type kgit decodes them to
// (one element for each list), so that the document decodes.
func set(m map[string]any, segs []string, t reflect.Type) {
	name, list := strings.CutSuffix(segs[0], "[]")
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var ft reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		ft, _ = jsonField(t, name)
	} else if t != nil && t.Kind() == reflect.Map {
		ft = t.Elem()
	}
	for ft != nil && ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if ft == reflect.TypeOf(json.RawMessage{}) {
		ft = nil // the rest is raw JSON: any shape decodes
	}
	if list && ft != nil && ft.Kind() == reflect.Slice {
		ft = ft.Elem()
	}
	var v any
	if len(segs) > 1 {
		inner := map[string]any{}
		set(inner, segs[1:], ft)
		v = inner
	} else {
		v = leaf(ft)
	}
	if list {
		v = []any{v}
	}
	m[name] = v
}

func leaf(t reflect.Type) any {
	if t == nil {
		return map[string]any{}
	}
	if t == reflect.TypeOf(manifest.IntOrString{}) {
		return 1
	}
	switch t.Kind() {
	case reflect.String:
		return "x"
	case reflect.Bool:
		return true
	case reflect.Int, reflect.Int32, reflect.Int64:
		return 1
	case reflect.Slice:
		return []any{}
	}
	return map[string]any{}
}

// hostAccessFields are the fields manifest.HostAccess finds in a Pod that asks for every
// kind of host access, as manifest.Unhonoured matches them.
func hostAccessFields() ([]string, error) {
	doc := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "host"}, "spec": {
  "hostNetwork": true, "hostPID": true, "hostIPC": true,
  "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
  "initContainers": [{"name": "i", "image": "x", "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN"]}}}],
  "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN"]}}}]}}`
	objs, err := manifest.Decode("host.json", []byte(doc))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range manifest.HostAccess(objs[0]) {
		out = append(out, strings.TrimPrefix(indices.ReplaceAllString(e.Path, "[]"), "spec."))
	}
	if len(out) != 8 {
		return nil, fmt.Errorf("manifest.HostAccess found %v in a Pod that asks for eight kinds of host access", out)
	}
	return out, nil
}

// isolated checks what Isolated promises: a pod is apart from the host. It does not see
// the host's files or processes, and it has a network of its own: an address that is
// none of the host's, on which it binds a port that another pod binds too.
func (s *suite) isolated(t *testing.T) {
	dir := t.TempDir()
	secret := fmt.Sprintf("host-only-%d", time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", os.Getpid()))
	hostProc := ""
	if err == nil {
		hostProc = "/proc/" + strconv.Itoa(os.Getpid()) + "/cmdline"
	}
	args := []string{"files", dir}
	if hostProc != "" {
		args = append(args, hostProc)
	}
	p := s.create(t, s.spec("isolated", "Always", 1, args...))
	out := s.waitLog(t, p, "done\n")
	if strings.Contains(out, secret) {
		t.Errorf("a pod of an isolated backend read the host's file %s: %q", filepath.Join(dir, "file"), out)
	}
	if cmd, _, _ := bytes.Cut(self, []byte{0}); len(cmd) > 0 && strings.Contains(out, string(cmd)) {
		t.Errorf("a pod of an isolated backend sees the host's process %d (%s): %q", os.Getpid(), cmd, out)
	}

	hostAddrs := map[string]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				hostAddrs[n.IP.String()] = true
			}
		}
	}
	probed := func(name string) backend.PodSpec {
		spec := s.spec(name, "Always", 1, "serve")
		c := &spec.Spec.Containers[0]
		c.Ports = []manifest.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}}
		c.ReadinessProbe = &manifest.Probe{HTTPGet: &manifest.HTTPGetAction{Path: "/healthz", Port: manifest.FromInt(8080)}, PeriodSeconds: 1}
		manifest.DefaultPodSpec(&spec.Spec)
		return spec
	}
	s.create(t, probed("port-a"))
	s.create(t, probed("port-b"))
	var ips []string
	for _, name := range []string{"port-a", "port-b"} {
		p := s.waitFor(t, name, "ready serving on port 8080 beside another pod", func(p *backend.Pod) bool { return p.Status.Ready })
		if p.Status.PodIP == "" || hostAddrs[p.Status.PodIP] {
			t.Errorf("pod %s of an isolated backend has the address %q, want one of its own (the host has %v)", name, p.Status.PodIP, hostAddrs)
		}
		ips = append(ips, p.Status.PodIP)
	}
	if ips[0] == ips[1] {
		t.Errorf("two pods share the address %s", ips[0])
	}
}

// waitLog waits until the pod's main container has logged want, and returns the log.
func (s *suite) waitLog(t *testing.T, p *backend.Pod, want string) string {
	t.Helper()
	deadline := time.Now().Add(s.h.Timeout)
	var buf bytes.Buffer
	for time.Now().Before(deadline) {
		buf.Reset()
		if err := s.b.Logs(context.Background(), p.ID, "main", backend.LogOptions{Tail: -1}, &buf); err != nil && !errors.Is(err, backend.ErrNotFound) {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), want) {
			return buf.String()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("logs = %q, want %q", buf.String(), want)
	return ""
}
