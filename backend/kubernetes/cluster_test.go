package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"kgit.dev/kgit/internal/clustertest"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// The tests run against a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, and kwok as the node):
//
//   - KGIT_TEST_KUBECONFIG=FILE uses a running cluster (one from testdata/cluster/cluster.sh);
//   - otherwise, when the binaries are in the cache testdata/cluster/build.sh fills
//     (KGIT_CLUSTER_BIN, or ~/.cache/kgit-cluster/*/bin), TestMain starts one with
//     testdata/cluster/cluster.sh and stops it at the end;
//   - otherwise the tests skip, and fail when KGIT_REQUIRE_CLUSTER=1.
//
// Each test works in a namespace of its own.
var (
	kubeconfig string
	noCluster  string // why there is no cluster
)

func TestMain(m *testing.M) {
	stop := startCluster()
	code := m.Run()
	stop()
	os.Exit(code)
}

func startCluster() func() {
	if kc := os.Getenv("KGIT_TEST_KUBECONFIG"); kc != "" {
		kubeconfig = kc
		return func() {}
	}
	script, _ := filepath.Abs("../../testdata/cluster/cluster.sh")
	if _, err := os.Stat(script); err != nil {
		noCluster = "no testdata/cluster/cluster.sh"
		return func() {}
	}
	bin := clusterBin()
	if bin == "" {
		noCluster = "the control plane's binaries are not built (testdata/cluster/build.sh)"
		return func() {}
	}
	dir, err := os.MkdirTemp("", "kgit-k8s-test-")
	if err != nil {
		noCluster = err.Error()
		return func() {}
	}
	cmd := exec.Command("bash", script, "up", dir)
	cmd.Env = append(os.Environ(), "KGIT_CLUSTER_BIN="+bin)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	down := func() {
		c := exec.Command("bash", script, "down", dir)
		c.Stderr = os.Stderr
		_ = c.Run()
		os.RemoveAll(dir)
	}
	if err != nil {
		noCluster = fmt.Sprintf("cluster.sh up: %v", err)
		down()
		return func() {}
	}
	kubeconfig = strings.TrimSpace(string(out))
	return down
}

// clusterBin finds a directory that holds every binary of the control plane.
func clusterBin() string { return clustertest.Bin() }

// needCluster skips (or fails, with KGIT_REQUIRE_CLUSTER=1) a test without a cluster.
func needCluster(t *testing.T) {
	t.Helper()
	if kubeconfig != "" {
		return
	}
	if os.Getenv("KGIT_REQUIRE_CLUSTER") == "1" {
		t.Fatalf("KGIT_REQUIRE_CLUSTER=1 but there is no cluster: %s", noCluster)
	}
	t.Skipf("no cluster: %s (KGIT_TEST_KUBECONFIG, or build testdata/cluster)", noCluster)
}

// env is one test's namespace and app on the shared cluster.
type env struct {
	t      *testing.T
	ns     string
	app    string
	dyn    dynamic.Interface
	events *eventLog
}

type eventLog struct{ lines []string }

func (e *eventLog) Event(ev reconcile.Event) {
	e.lines = append(e.lines, ev.Object+" "+ev.Reason+": "+ev.Message)
}

var nsGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
var deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
var cmGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func newEnv(t *testing.T, app string) *env {
	t.Helper()
	needCluster(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ns := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	ns = fmt.Sprintf("t-%s-%d", ns, time.Now().UnixNano()%100000)
	if len(ns) > 60 {
		ns = ns[:60]
	}
	_, err = dyn.Resource(nsGVR).Create(context.Background(), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = dyn.Resource(nsGVR).Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	return &env{t: t, ns: ns, app: app, dyn: dyn, events: &eventLog{}}
}

// target makes a Target of the env's app, as the CLI would.
func (e *env) target() *Target {
	e.t.Helper()
	tg, err := New(context.Background(), Config{Kubeconfig: kubeconfig, Namespace: e.ns, App: e.app, Events: e.events})
	if err != nil {
		e.t.Fatal(err)
	}
	tg.Poll = 100 * time.Millisecond
	return tg
}

func (e *env) syncer() *reconcile.Syncer {
	tg := e.target()
	return &reconcile.Syncer{Target: tg, Emitter: reconcile.Emitter{Sink: e.events, App: e.app}}
}

// objs parses manifests; NS stands for the env's namespace.
func (e *env) objs(y string) []*manifest.Object {
	e.t.Helper()
	objs, err := manifest.Parse([]manifest.File{{Path: "app.yaml", Data: []byte(strings.ReplaceAll(y, "NS", e.ns))}})
	if err != nil {
		e.t.Fatal(err)
	}
	return objs
}

func (e *env) sync(s *reconcile.Syncer, objs []*manifest.Object, opts reconcile.SyncOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return s.Sync(ctx, objs, opts)
}

func (e *env) get(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	e.t.Helper()
	u, err := e.dyn.Resource(gvr).Namespace(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) kubectl(args ...string) string {
	e.t.Helper()
	out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig, "-n", e.ns}, args...)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func web(image string, replicas int, extra string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}%s
    spec:
      containers: [{name: c, image: %q}]
`, replicas, extra, image)
}

const config = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: NS}
data: {color: blue}
---
`

const service = `---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`

func str(u *unstructured.Unstructured, path ...string) string {
	s, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	return fmt.Sprint(s)
}

func TestSyncApplyPruneEmpty(t *testing.T) {
	e := newEnv(t, "shop")
	s := e.syncer()
	if err := e.sync(s, e.objs(config+web("nginx:1.27", 2, "")+service), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	d := e.get(deployGVR, "web")
	tg := s.Target.(*Target)
	for k, want := range map[string]string{"kgit.dev/managed-by": "kgit", "kgit.dev/app": "shop", LabelPartOf: tg.ApplySetID()} {
		if got := d.GetLabels()[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if got := d.GetAnnotations()[AnnotationCommit]; got != "c1" {
		t.Errorf("commit annotation %q", got)
	}
	if got := str(d, "spec", "template", "metadata", "annotations", AnnotationCommit); got != "c1" {
		t.Errorf("template commit annotation %q", got)
	}
	if got := str(d, "status", "availableReplicas"); got != "2" {
		t.Errorf("available replicas %s after sync", got)
	}
	// As written: a field kgit defaults but the manifest does not set is not kgit's.
	if fs := ownedSet(d); strings.Contains(fs, "progressDeadlineSeconds") || !strings.Contains(fs, `"f:image"`) {
		t.Errorf("kgit's managed fields are not the document as written: %s", fs)
	}
	// The parent Secret: ApplySet-compatible, with the inventory and the sync.
	p := e.get(secretGVR, tg.ParentName())
	if p.GetLabels()[LabelApplySetID] != tg.ApplySetID() || p.GetAnnotations()[annGroupKinds] != "ConfigMap,Deployment.apps,Service" {
		t.Errorf("parent: labels %v annotations %v", p.GetLabels(), p.GetAnnotations())
	}
	syncs, err := tg.Syncs(context.Background())
	if err != nil || len(syncs) != 1 || syncs[0].Commit != "c1" || syncs[0].Result != "ok" {
		t.Errorf("syncs %+v %v", syncs, err)
	}

	// A second sync of the same commit writes nothing.
	rv := d.GetResourceVersion()
	s2 := e.syncer()
	if err := e.sync(s2, e.objs(config+web("nginx:1.27", 2, "")+service), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.get(deployGVR, "web").GetResourceVersion(); got != rv {
		t.Errorf("a no-op sync wrote the Deployment (resourceVersion %s -> %s)", rv, got)
	}

	// A ConfigMap someone else made is never pruned; the one that left git is.
	foreign := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "foreign", "namespace": e.ns, "labels": map[string]any{"kgit.dev/app": "shop"}}}}
	if _, err := e.dyn.Resource(cmGVR).Namespace(e.ns).Create(context.Background(), foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.sync(e.syncer(), e.objs(web("nginx:1.27", 2, "")+service), reconcile.SyncOptions{Commit: "c2", Prune: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dyn.Resource(cmGVR).Namespace(e.ns).Get(context.Background(), "settings", metav1.GetOptions{}); !notFound(err) {
		t.Errorf("settings not pruned: %v", err)
	}
	e.get(cmGVR, "foreign")
	if got := e.get(secretGVR, tg.ParentName()).GetAnnotations()[annGroupKinds]; got != "Deployment.apps,Service" {
		t.Errorf("inventory after prune: %s", got)
	}

	// Nothing in git while the app runs: refused.
	if err := e.sync(e.syncer(), nil, reconcile.SyncOptions{Commit: "c3", Prune: true}); err != reconcile.ErrEmptyDesired {
		t.Errorf("empty sync: %v", err)
	}
	// Down removes every member and the parent, nothing else.
	if err := e.syncer().Down(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dyn.Resource(deployGVR).Namespace(e.ns).Get(context.Background(), "web", metav1.GetOptions{}); !notFound(err) {
		t.Errorf("web after down: %v", err)
	}
	e.get(cmGVR, "foreign")
}

// A fresh runner (a new Target) reads back what kgit applied: Load gives the same Data
// as the manifests, so the Syncer applies nothing.
func TestLoadRoundTrip(t *testing.T) {
	e := newEnv(t, "shop")
	objs := e.objs(config + web("nginx:1.27", 2, "\n      annotations: {team: a}") + service)
	if err := e.sync(e.syncer(), objs, reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	live, err := e.target().Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		a := live.Applied()[o.Key()]
		if a == nil {
			t.Fatalf("%s not loaded", o.Key())
		}
		want, _ := jsonOf(o.Obj)
		if string(a.Data) != want {
			t.Errorf("%s:\nlive %s\ngit  %s", o.Key(), a.Data, want)
		}
		if a.Commit != "c1" {
			t.Errorf("%s commit %q", o.Key(), a.Commit)
		}
	}
}

func TestRollingUpdateRollbackOverride(t *testing.T) {
	e := newEnv(t, "shop")
	v := func(image string) []*manifest.Object { return e.objs(web(image, 3, "") + service) }
	for i, img := range []string{"nginx:1.27", "nginx:1.28"} {
		if err := e.sync(e.syncer(), v(img), reconcile.SyncOptions{Commit: fmt.Sprintf("c%d", i+1), Prune: true}); err != nil {
			t.Fatal(err)
		}
	}
	// A replicas-only commit rolls no pod: the template keeps the commit that made it.
	if err := e.sync(e.syncer(), e.objs(web("nginx:1.28", 2, "")+service), reconcile.SyncOptions{Commit: "c3", Prune: true}); err != nil {
		t.Fatal(err)
	}
	s := e.syncer()
	live, err := s.Target.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hist := s.Target.History(live, manifest.Key{Kind: "Deployment", Namespace: e.ns, Name: "web"})
	if len(hist) != 2 || hist[0].Commit != "c1" || hist[1].Commit != "c2" || !hist[1].Current || !hist[1].LastComplete ||
		hist[0].Template.Spec.Containers[0].Image != "nginx:1.27" {
		t.Fatalf("history %+v", hist)
	}
	// Rollback by commit: c1's manifests, held until the branch moves past c3. The
	// controller takes c1's ReplicaSet back.
	if err := s.RollbackDeployment(context.Background(), live, "web", v("nginx:1.27"), "c1", "c3"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Converge(ctx); err != nil {
		t.Fatal(err)
	}
	d := e.get(deployGVR, "web")
	if img := str(d, "spec", "template", "spec", "containers"); !strings.Contains(img, "nginx:1.27") {
		t.Errorf("after rollback: %s", img)
	}
	if d.GetAnnotations()[reconcile.OverrideAnnotation] != "rollback" {
		t.Errorf("override annotations %v", d.GetAnnotations())
	}
	live, _ = e.target().Load(context.Background())
	hist = e.target().History(live, manifest.Key{Kind: "Deployment", Namespace: e.ns, Name: "web"})
	if len(hist) != 2 || !hist[1].Current || hist[1].Commit != "c1" {
		t.Errorf("history after rollback (want c1's ReplicaSet taken back): %+v", hist)
	}
	// Cron syncs c3 again (a fresh runner): the override holds.
	if err := e.sync(e.syncer(), e.objs(web("nginx:1.28", 2, "")+service), reconcile.SyncOptions{Commit: "c3", Prune: true}); err != nil {
		t.Fatal(err)
	}
	if img := str(e.get(deployGVR, "web"), "spec", "template", "spec", "containers"); !strings.Contains(img, "nginx:1.27") {
		t.Errorf("override not kept: %s; events %v", img, e.events.lines)
	}
	// The branch moves: git wins, the override annotations are gone.
	if err := e.sync(e.syncer(), e.objs(web("nginx:1.29", 2, "")+service), reconcile.SyncOptions{Commit: "c4", Prune: true}); err != nil {
		t.Fatal(err)
	}
	d = e.get(deployGVR, "web")
	if img := str(d, "spec", "template", "spec", "containers"); !strings.Contains(img, "nginx:1.29") {
		t.Errorf("after c4: %s", img)
	}
	if _, held := d.GetAnnotations()[reconcile.OverrideAnnotation]; held {
		t.Errorf("override still there: %v", d.GetAnnotations())
	}
}

func TestScaleOverrideAndDrift(t *testing.T) {
	e := newEnv(t, "shop")
	objs := func() []*manifest.Object { return e.objs(web("nginx:1.27", 2, "")) }
	if err := e.sync(e.syncer(), objs(), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	// Drift made with kubectl is corrected by the next sync.
	e.kubectl("scale", "deployment/web", "--replicas=4")
	if err := e.sync(e.syncer(), objs(), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	if got := str(e.get(deployGVR, "web"), "spec", "replicas"); got != "2" {
		t.Errorf("drift not corrected: replicas %s", got)
	}
	e.kubectl("set", "image", "deployment/web", "c=nginx:evil")
	if err := e.sync(e.syncer(), objs(), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	if img := str(e.get(deployGVR, "web"), "spec", "template", "spec", "containers"); !strings.Contains(img, "nginx:1.27") {
		t.Errorf("image drift not corrected: %s", img)
	}
	// kgit scale is an override: a sync of the same git replicas keeps it.
	s := e.syncer()
	live, _ := s.Target.Load(context.Background())
	if err := s.Scale(context.Background(), live, "web", 5); err != nil {
		t.Fatal(err)
	}
	if err := e.sync(e.syncer(), objs(), reconcile.SyncOptions{Commit: "c2", Prune: true}); err != nil {
		t.Fatal(err)
	}
	if got := str(e.get(deployGVR, "web"), "spec", "replicas"); got != "5" {
		t.Errorf("scale override not kept: replicas %s; events %v", got, e.events.lines)
	}
	if err := e.sync(e.syncer(), e.objs(web("nginx:1.27", 3, "")), reconcile.SyncOptions{Commit: "c3", Prune: true}); err != nil {
		t.Fatal(err)
	}
	if got := str(e.get(deployGVR, "web"), "spec", "replicas"); got != "3" {
		t.Errorf("git changed replicas, override should end: replicas %s", got)
	}
}

func TestStuckRolloutAndTimeout(t *testing.T) {
	e := newEnv(t, "shop")
	stuck := "\n      annotations: {kgit.dev/kwok-pod: never-ready}"
	if err := e.sync(e.syncer(), e.objs(web("nginx:1.27", 2, "")), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(web("nginx:1.28", 2, stuck), "  replicas: 2\n", "  replicas: 2\n  progressDeadlineSeconds: 3\n", 1)
	err := e.sync(e.syncer(), e.objs(y), reconcile.SyncOptions{Commit: "c2", Prune: true})
	re, ok := err.(*reconcile.RolloutError)
	if !ok {
		t.Fatalf("stuck rollout: %v", err)
	}
	t.Logf("rollout error: %v", re)
	if len(re.Deployments) != 1 || !strings.Contains(re.Error(), "exceeded its progress deadline") || !strings.Contains(re.Error(), "pod/web-") ||
		!strings.Contains(re.Error(), "ContainersNotReady") {
		t.Errorf("rollout error: %v", re)
	}
	// --auto-rollback: back to the last complete revision (c1's).
	s := e.syncer()
	done, err := s.AutoRollback(context.Background(), re)
	if err != nil {
		t.Fatalf("auto rollback: %v (%v)", err, done)
	}
	if img := str(e.get(deployGVR, "web"), "spec", "template", "spec", "containers"); !strings.Contains(img, "nginx:1.27") {
		t.Errorf("after auto rollback: %s %v", img, done)
	}
	// A rollout that does not end before ctx does: ErrTimeout.
	y = strings.Replace(web("nginx:1.30", 2, stuck), "  replicas: 2\n", "  replicas: 2\n  progressDeadlineSeconds: 600\n", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	err = e.syncer().Sync(ctx, e.objs(y), reconcile.SyncOptions{Commit: "c3", Prune: true, Force: true})
	t.Logf("timeout: %v", err)
	if !errorsIs(err, reconcile.ErrTimeout) || !strings.Contains(err.Error(), "deployment.apps/web") {
		t.Errorf("timeout: %v", err)
	}
	syncs, _ := e.target().Syncs(context.Background())
	if len(syncs) == 0 || syncs[len(syncs)-1].Result == "ok" {
		t.Errorf("failed sync not recorded: %+v", syncs)
	}
}

func TestImmutableFieldRecreates(t *testing.T) {
	e := newEnv(t, "shop")
	if err := e.sync(e.syncer(), e.objs(web("nginx:1.27", 1, "")), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	uid := e.get(deployGVR, "web").GetUID()
	y := strings.ReplaceAll(web("nginx:1.27", 1, ""), "app: web", "app: web2")
	if err := e.sync(e.syncer(), e.objs(y), reconcile.SyncOptions{Commit: "c2", Prune: true}); err != nil {
		t.Fatal(err)
	}
	d := e.get(deployGVR, "web")
	if d.GetUID() == uid || !strings.Contains(str(d, "spec", "selector"), "web2") {
		t.Errorf("selector change: uid %s -> %s, selector %s", uid, d.GetUID(), str(d, "spec", "selector"))
	}
	if !strings.Contains(strings.Join(e.events.lines, "\n"), "Recreating") {
		t.Errorf("no Recreating event: %v", e.events.lines)
	}
}

func TestLeaseLock(t *testing.T) {
	e := newEnv(t, "shop")
	a, b := e.target(), e.target()
	release, err := a.Lock(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(context.Background(), 0)
	le, ok := err.(interface{ Error() string })
	if !ok || !strings.Contains(fmt.Sprint(err), "holds the lock") {
		t.Fatalf("second lock: %v", le)
	}
	// A second syncer through the CLI's path: Lock, then Sync, excluded.
	go func() { time.Sleep(time.Second); release() }()
	start := time.Now()
	r2, err := b.Lock(context.Background(), 10*time.Second)
	if err != nil {
		t.Fatalf("waiting lock: %v", err)
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Errorf("lock taken while held")
	}
	r2()
	// A holder that died: its Lease expires and is taken over.
	lease := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
		"metadata": map[string]any{"name": a.ParentName(), "namespace": e.ns},
		"spec": map[string]any{"holderIdentity": "dead/1", "leaseDurationSeconds": int64(1),
			"acquireTime": time.Now().Add(-time.Minute).UTC().Format(microTime), "renewTime": time.Now().Add(-time.Minute).UTC().Format(microTime)}}}
	if _, err := e.dyn.Resource(leaseGVR).Namespace(e.ns).Create(context.Background(), lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r3, err := a.Lock(context.Background(), 0)
	if err != nil {
		t.Fatalf("expired lease not taken over: %v", err)
	}
	r3()
}

func TestReadSide(t *testing.T) {
	e := newEnv(t, "shop")
	if err := e.sync(e.syncer(), e.objs(config+web("nginx:1.27", 2, "")), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	tg := e.target()
	objs, err := tg.Objects(context.Background())
	if err != nil || len(objs) != 2 {
		t.Fatalf("objects %d %v", len(objs), err)
	}
	if objs[1]["kind"] != "Deployment" || objs[1]["status"] == nil {
		t.Errorf("objects not Kubernetes-shaped: %v", objs[1]["kind"])
	}
	pods, err := tg.List(context.Background(), "po", e.ns, "app=web", "")
	if err != nil || len(pods) != 2 {
		t.Errorf("pods %d %v", len(pods), err)
	}
	rs, err := tg.List(context.Background(), "replicasets.apps", e.ns, "", "")
	if err != nil || len(rs) != 1 {
		t.Errorf("replicasets %d %v", len(rs), err)
	}
}

func jsonOf(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// Preview is a server-side dry run: an unchanged object shows no difference (server
// defaults on both sides), a changed one only its change, a Secret only masked values.
func TestPreview(t *testing.T) {
	e := newEnv(t, "shop")
	secret := "---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: NS}\nstringData: {password: hunter2}\n" +
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: sealed, namespace: NS, annotations: {kgit.dev/decrypted: \"true\"}}\ndata: {token: tok-one}\n"
	if err := e.sync(e.syncer(), e.objs(config+web("nginx:1.27", 2, "")+service+secret), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	tg := e.target()
	live, err := tg.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range e.objs(config + web("nginx:1.28", 2, "") + service + strings.NewReplacer("hunter2", "hunter3", "tok-one", "tok-two").Replace(secret)) {
		data, _ := json.Marshal(o.Obj)
		before, after, err := tg.Preview(context.Background(), live, &reconcile.Applied{Key: o.Key(), Object: o.Obj, Commit: "c1", Data: data, Raw: o.Raw})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(before)
		a, _ := json.Marshal(after)
		switch o.Key().Kind {
		case "ConfigMap", "Service":
			if o.Key().Name == "sealed" { // from a SOPS-encrypted file: masked as a Secret
				if strings.Contains(string(a)+string(b), "tok-") || !strings.Contains(string(a), `*** (after)`) {
					t.Errorf("decrypted ConfigMap preview:\n%s\n%s", b, a)
				}
				if r, _ := json.Marshal(tg.Removal(live, &reconcile.Applied{Key: o.Key()})); strings.Contains(string(r), "tok-") || !strings.Contains(string(r), "***") {
					t.Errorf("decrypted ConfigMap removal:\n%s", r)
				}
				continue
			}
			if string(a) != string(b) {
				t.Errorf("%s: false difference:\n%s\n%s", o.Key(), b, a)
			}
		case "Deployment":
			if !strings.Contains(string(b), "nginx:1.27") || !strings.Contains(string(a), "nginx:1.28") {
				t.Errorf("deployment preview:\n%s\n%s", b, a)
			}
		case "Secret":
			if strings.Contains(string(a)+string(b), "aHVudGVy") || !strings.Contains(string(a), `*** (after)`) {
				t.Errorf("secret preview:\n%s\n%s", b, a)
			}
		}
	}
}

// Kinds kgit does not model reach the cluster as written: a Namespace and a CRD are
// applied first (Staged), the CRD waited for, then its custom resource; a second sync
// writes nothing; pruning takes them away.
func TestNamespaceCRDAndCustomResource(t *testing.T) {
	e := newEnv(t, "crd")
	suffix := e.ns[len(e.ns)-5:]
	y := `apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: APPNS}
spec: {size: 3, color: red}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgetsSUFFIX.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgetsSUFFIX, singular: widgetSUFFIX, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: v1
kind: Namespace
metadata: {name: APPNS}
`
	y = strings.NewReplacer("APPNS", e.ns+"-app", "SUFFIX", suffix).Replace(y)
	objs := Staged(e.objs(y))
	if objs[0].Key().Kind != "CustomResourceDefinition" && objs[0].Key().Kind != "Namespace" || objs[2].Key().Kind != "Widget" {
		t.Fatalf("staged order: %v %v %v", objs[0].Key(), objs[1].Key(), objs[2].Key())
	}
	t.Cleanup(func() {
		_ = e.dyn.Resource(nsGVR).Delete(context.Background(), e.ns+"-app", metav1.DeleteOptions{})
	})
	if err := e.sync(e.syncer(), objs, reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	wgvr := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets" + suffix}
	w, err := e.dyn.Resource(wgvr).Namespace(e.ns+"-app").Get(context.Background(), "w1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if str(w, "spec", "color") != "red" || w.GetLabels()[LabelPartOf] == "" {
		t.Errorf("widget %v", w.Object)
	}
	rv := w.GetResourceVersion()
	live, err := e.target().Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		want, _ := jsonOf(o.Obj)
		if a := live.Applied()[o.Key()]; a == nil || string(a.Data) != want {
			t.Logf("%s read back differs from git (costs a dry run per sync):\nlive %s\ngit  %s", o.Key(), a.Data, want)
		}
	}
	if err := e.sync(e.syncer(), Staged(e.objs(y)), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	w, _ = e.dyn.Resource(wgvr).Namespace(e.ns+"-app").Get(context.Background(), "w1", metav1.GetOptions{})
	if w.GetResourceVersion() != rv {
		t.Errorf("a no-op sync wrote the custom resource")
	}
	// The custom resource leaves git: pruned; the CRD and Namespace stay.
	y2 := y[strings.Index(y, "---\n")+4:]
	if err := e.sync(e.syncer(), Staged(e.objs(y2)), reconcile.SyncOptions{Commit: "c2", Prune: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dyn.Resource(wgvr).Namespace(e.ns+"-app").Get(context.Background(), "w1", metav1.GetOptions{}); !notFound(err) {
		t.Errorf("widget not pruned: %v", err)
	}
	if err := e.syncer().Down(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A Job that completes is healthy; one whose pod fails is a *reconcile.JobError.
func TestJobs(t *testing.T) {
	e := newEnv(t, "jobs")
	job := func(name, podLabels string) string {
		return fmt.Sprintf(`---
apiVersion: batch/v1
kind: Job
metadata: {name: %s, namespace: NS}
spec:
  backoffLimit: 0
  template:
    metadata: {labels: {%s}}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
`, name, podLabels)
	}
	if err := e.sync(e.syncer(), e.objs(job("ok", "app: ok")), reconcile.SyncOptions{Commit: "c1", Prune: true}); err != nil {
		t.Fatal(err)
	}
	err := e.sync(e.syncer(), e.objs(job("ok", "app: ok")+job("bad", `app: bad, pod-container-running-failed.stage.kwok.x-k8s.io: "true"`)), reconcile.SyncOptions{Commit: "c2", Prune: true})
	var je *reconcile.JobError
	if !errors.As(err, &je) || len(je.Jobs) != 1 || je.Jobs[0].Name != "bad" {
		t.Fatalf("failed job: %v", err)
	}
	t.Logf("job error: %v", je)
}
