package render

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// trackFS is a repository tree that counts the reads of files other than kustomization
// files. The scan before a build (scan.go) only reads kustomization files and stats the
// rest, so any other file is read by krusty itself, under kustomizeMu: two such reads
// at once mean two builds at once. Each read is slowed a little so that builds that are
// not serialised would overlap. panicOn makes the read of one file panic, as a bug in
// kustomize would.
type trackFS struct {
	fstest.MapFS
	reads, inFlight, maxInFlight atomic.Int32
	panicOn                      string
}

func (f *trackFS) read(name string) {
	if path.Base(name) == "kustomization.yaml" {
		return
	}
	if name == f.panicOn {
		panic("boom reading " + name)
	}
	f.reads.Add(1)
	n := f.inFlight.Add(1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(200 * time.Microsecond)
	f.inFlight.Add(-1)
}

func (f *trackFS) Open(name string) (fs.File, error) {
	f.read(name)
	return f.MapFS.Open(name)
}

func (f *trackFS) ReadFile(name string) ([]byte, error) {
	f.read(name)
	return f.MapFS.ReadFile(name)
}

// overlaysRepo holds n overlays of one base, each with its own prefix, replicas, image
// tag, generated ConfigMap and a resource file of its own.
func overlaysRepo(n int) fstest.MapFS {
	files := []string{
		"base/kustomization.yaml", "resources: [deployment.yaml]\n",
		"base/deployment.yaml", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
          envFrom: [{configMapRef: {name: settings}}]
`,
	}
	for i := range n {
		dir := fmt.Sprintf("overlays/o%d/", i)
		files = append(files,
			dir+"kustomization.yaml", fmt.Sprintf(`
namePrefix: o%[1]d-
resources: [../../base, own.yaml]
replicas: [{name: web, count: %[2]d}]
images: [{name: ghcr.io/example/web, newTag: "%[1]d.0.0"}]
configMapGenerator: [{name: settings, literals: [INDEX=%[1]d]}]
`, i, i+1),
			dir+"own.yaml", fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: own}\ndata: {index: \"%d\"}\n", i),
		)
	}
	return repo(files...)
}

// TestKustomizeConcurrentBuilds renders many overlays from many goroutines at once (run
// it with -race): the builds are serialised (kustomize is not safe under concurrent
// builds), none starts while another holds the lock, and each render gets its own
// overlay's output, the same as when rendered alone.
func TestKustomizeConcurrentBuilds(t *testing.T) {
	const overlays, rounds = 8, 3
	fsys := &trackFS{MapFS: overlaysRepo(overlays)}
	opts := func(i int) Options { return Options{Sources: i%2 == 0} } // both kfs paths: with and without origins
	want := make([]*Result, overlays)
	for i := range overlays {
		res, err := Render(context.Background(), fsys, fmt.Sprintf("overlays/o%d", i), opts(i))
		if err != nil {
			t.Fatalf("o%d alone: %v", i, err)
		}
		objs := objects(t, res)
		d := fmt.Sprintf("Deployment/o%d-web", i)
		expect(t, objs, d, "spec.replicas", i+1)
		expect(t, objs, d, "spec.template.spec.containers[0].image", fmt.Sprintf("ghcr.io/example/web:%d.0.0", i))
		expect(t, objs, fmt.Sprintf("ConfigMap/o%d-own", i), "data.index", i)
		if len(objs) != 3 {
			t.Errorf("o%d: %d objects, want 3: %v", i, len(objs), res.Docs)
		}
		want[i] = res
	}
	if fsys.reads.Load() == 0 {
		t.Fatal("no file read counted: the test no longer sees kustomize's reads")
	}
	fsys.reads.Store(0)
	fsys.maxInFlight.Store(0)

	// Every goroutine starts while the lock is held: none may build until it is released.
	kustomizeMu.Lock()
	type result struct {
		i   int
		res *Result
		err error
	}
	results := make(chan result, overlays*rounds)
	var wg sync.WaitGroup
	for r := range rounds {
		for i := range overlays {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j := (i + r) % overlays
				res, err := Render(context.Background(), fsys, fmt.Sprintf("overlays/o%d", j), opts(j))
				results <- result{j, res, err}
			}()
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := fsys.reads.Load(); n != 0 {
		t.Errorf("%d files read by kustomize while another build held the lock", n)
	}
	kustomizeMu.Unlock()
	wg.Wait()
	close(results)

	if m := fsys.maxInFlight.Load(); m != 1 {
		t.Errorf("%d kustomize builds read files at the same time, want 1 (builds are serialised)", m)
	}
	n := 0
	for r := range results {
		n++
		if r.err != nil {
			t.Errorf("o%d: %v", r.i, r.err)
			continue
		}
		if !sameDocs(r.res, want[r.i]) {
			t.Errorf("o%d rendered concurrently differs from o%d alone:\n%s\nwant:\n%s", r.i, r.i, dump(r.res), dump(want[r.i]))
		}
	}
	if n != overlays*rounds {
		t.Errorf("%d renders returned, want %d", n, overlays*rounds)
	}
}

func sameDocs(a, b *Result) bool {
	if a.Kind != b.Kind || a.Entry != b.Entry || len(a.Docs) != len(b.Docs) {
		return false
	}
	for i := range a.Docs {
		x, y := a.Docs[i], b.Docs[i]
		if x.Path != y.Path || x.Object != y.Object || x.Source != y.Source || x.Rendered != y.Rendered || !bytes.Equal(x.Data, y.Data) {
			return false
		}
	}
	return true
}

func dump(r *Result) string {
	var b strings.Builder
	for _, d := range r.Docs {
		fmt.Fprintf(&b, "# %s (from %q)\n%s", d.Object, d.Source, d.Data)
	}
	return b.String()
}

// TestKustomizePanicRecovered: a panic inside a kustomize build (here, the repository
// tree panics when krusty reads a resource) is an error naming the kustomization, not a
// crash; the lock is released and the next build works.
func TestKustomizePanicRecovered(t *testing.T) {
	fsys := &trackFS{
		MapFS: with(overlaysRepo(1),
			"overlays/o0/kustomization.yaml", "resources: [../../base, boom.yaml]\n",
			"overlays/o0/boom.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: boom}\n",
		),
		panicOn: "overlays/o0/boom.yaml",
	}
	for _, sources := range []bool{false, true} {
		_, err := Render(context.Background(), fsys, "overlays/o0", Options{Sources: sources})
		checkFieldError(t, err, "overlays/o0/kustomization.yaml", "kustomize panicked", "boom reading overlays/o0/boom.yaml")
		if !kustomizeMu.TryLock() {
			t.Fatal("kustomizeMu is still held after a panic in a build")
		}
		kustomizeMu.Unlock()
	}
	fsys.panicOn = ""
	res, err := Render(context.Background(), fsys, "overlays/o0", Options{})
	if err != nil {
		t.Fatalf("the build after a panic: %v", err)
	}
	objs := objects(t, res)
	expect(t, objs, "ConfigMap/boom", "kind", "ConfigMap")
	expect(t, objs, "Deployment/web", "spec.replicas", 1)
}
