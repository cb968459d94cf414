package kubernetes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// TestBenchNoopSync1000 (KGIT_BENCH=1) measures a no-op sync of 1000 objects (800
// ConfigMaps, 100 Deployments, 100 Services in 10 files) as the CLI would do it (read
// and parse the files, connect, lock, sync, converge), against kubectl apply
// --server-side of the same files: 5 runs each, alternating, medians.
func TestBenchNoopSync1000(t *testing.T) {
	if os.Getenv("KGIT_BENCH") != "1" {
		t.Skip("KGIT_BENCH=1 runs the benchmark")
	}
	e := newEnv(t, "bench")
	dir := t.TempDir()
	for f := 0; f < 10; f++ {
		var b strings.Builder
		for i := 0; i < 80; i++ {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d-%d, namespace: %s}\ndata: {key: value-%d, other: \"%d\"}\n", f, i, e.ns, i, f)
		}
		for i := 0; i < 10; i++ {
			n := fmt.Sprintf("web-%d-%d", f, i)
			fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers: [{name: c, image: nginx:1.27, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
`, n, e.ns)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.yaml", f)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kgit := func() time.Duration {
		start := time.Now()
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		var mf []manifest.File
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			mf = append(mf, manifest.File{Path: f, Data: data})
		}
		objs, err := manifest.Parse(mf)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		tg, err := New(ctx, Config{Kubeconfig: kubeconfig, Namespace: e.ns, App: e.app})
		if err != nil {
			t.Fatal(err)
		}
		release, err := tg.Lock(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		s := &reconcile.Syncer{Target: tg, Emitter: reconcile.Emitter{App: e.app}}
		if err := s.Sync(ctx, objs, reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	kubectl := func() time.Duration {
		start := time.Now()
		out, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager=kubectl-bench", "-f", dir).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl: %v\n%s", err, out)
		}
		d := time.Since(start)
		// the peer did the work: one server-side apply per object
		if n := strings.Count(string(out), "serverside-applied"); n != 1000 {
			t.Fatalf("kubectl applied %d objects, want 1000:\n%s", n, out)
		}
		return d
	}
	first := kgit() // creates everything, waits for the Deployments
	t.Logf("first kgit sync (creates 1000 objects, waits for 100 Deployments): %v", first)
	kubectl()
	var kg, kc []time.Duration
	for i := 0; i < 5; i++ {
		kg = append(kg, kgit())
		kc = append(kc, kubectl())
	}
	med := func(d []time.Duration) time.Duration {
		s := append([]time.Duration{}, d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	t.Logf("no-op sync of 1000 objects: kgit %v (runs %v), kubectl apply --server-side %v (runs %v), kubectl/kgit = %.1fx",
		med(kg), kg, med(kc), kc, float64(med(kc))/float64(med(kg)))
}
