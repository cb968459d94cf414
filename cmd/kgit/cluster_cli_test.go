package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/cmd/kgit/cli"
	"kgit.dev/kgit/internal/clustertest"
)

// TestClusterCLI runs kgit's commands with --backend kubernetes on a real control plane
// and checks what they did with kubectl: the exit codes (2 for an unreachable cluster, 4
// for a stuck rollout, 5 for a held lock), sync's --dry-run, --exit-code and -o json,
// diff's drift and deletions, describe, logs of a Deployment and by selector, and a
// scale held until sync --force.
func TestClusterCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a control plane")
	}
	kc := clustertest.Start(t)
	t.Setenv("KUBECONFIG", kc)
	t.Setenv("KGIT_BACKEND", "kubernetes")
	e := newRolloutEnvB(t)
	e.app = "cli"
	ns := "kgit-cli"
	kubectl := func(args ...string) (string, error) {
		t.Helper()
		out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kc, "-n", ns}, args...)...).CombinedOutput()
		return string(out), err
	}
	kg := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		code := cli.Main(append(args, "--repo", e.repo, "--app", e.app, "--namespace", ns), &out, &errb)
		return out.String(), errb.String(), code
	}
	write := func(replicas int, withConfig bool, msg string) {
		t.Helper()
		doc := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  progressDeadlineSeconds: 15
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: "nginx:1.27"}]}
`, replicas)
		if err := os.WriteFile(filepath.Join(e.repo, "web.yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(e.repo, "cfg.yaml")
		if withConfig {
			if err := os.WriteFile(cfg, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {mode: blue}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			os.Remove(cfg)
		}
		e.git("add", "-A")
		e.git("commit", "-qm", msg)
	}
	if out, err := exec.Command("kubectl", "--kubeconfig", kc, "create", "namespace", ns).CombinedOutput(); err != nil {
		t.Fatalf("create namespace: %v\n%s", err, out)
	}
	write(2, true, "web and cfg")

	// An unreachable cluster: exit 2, naming the server.
	bad := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(bad, []byte(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := kg("sync", "--kubeconfig", bad, "--timeout", "20s"); code != 2 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Errorf("sync against an unreachable cluster: exit %d, want 2 naming the server:\n%s", code, errOut)
	}

	// --dry-run --exit-code: the differences, exit 1, and nothing applied.
	out, errOut, code := kg("sync", "--dry-run", "--exit-code")
	if code != 1 || !strings.Contains(out, "deployment.apps/web") || !strings.Contains(out, "configmap/cfg") {
		t.Errorf("sync --dry-run --exit-code: exit %d, want 1 and both objects:\n%s%s", code, out, errOut)
	}
	if got, err := kubectl("get", "deploy,cm", "-l", "kgit.dev/app="+e.app, "-o", "name"); err != nil || strings.TrimSpace(got) != "" {
		t.Errorf("the dry run applied something: %q %v", got, err)
	}

	// sync -o json: the summary on stdout, the objects on the cluster.
	out, errOut, code = kg("sync", "-o", "json", "--timeout", "120s")
	var sum struct {
		App, Commit, Result string
		Changes             []string
	}
	if err := json.Unmarshal([]byte(out), &sum); code != 0 || err != nil || sum.App != e.app || len(sum.Commit) != 40 || len(sum.Changes) == 0 {
		t.Fatalf("sync -o json: exit %d, %v, %+v\n%s%s", code, err, sum, out, errOut)
	}
	if got, err := kubectl("get", "deploy", "web", "-o", "jsonpath={.status.readyReplicas}"); err != nil || got != "2" {
		t.Fatalf("after sync, deploy/web ready replicas %q %v", got, err)
	}
	if out, errOut, code := kg("diff"); code != 0 {
		t.Errorf("diff right after sync: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, code := kg("sync", "--dry-run", "--exit-code"); code != 0 {
		t.Errorf("sync --dry-run --exit-code right after sync: exit %d\n%s", code, out)
	}

	// describe and logs read the cluster (kwok's ClusterLogs give every container three
	// lines: testdata/cluster/cluster.sh).
	if out, errOut, code := kg("describe", "deploy/web"); code != 0 || !strings.Contains(out, "web") || !strings.Contains(out, "nginx:1.27") {
		t.Errorf("describe deploy/web: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := kg("logs", "deploy/web"); code != 0 || strings.Count(out, "kwok log line") != 3 || !strings.Contains(errOut, "Found 2 pods") {
		t.Errorf("logs deploy/web: exit %d, want the three lines of one of its 2 pods:\n%s%s", code, out, errOut)
	}
	if out, errOut, code := kg("logs", "-l", "app=web", "--prefix"); code != 0 || strings.Count(out, "kwok log line") != 6 || strings.Count(out, "[pod/web-") != 6 {
		t.Errorf("logs -l app=web --prefix: exit %d, want 3 prefixed lines of each of 2 pods:\n%s%s", code, out, errOut)
	}
	if out, errOut, code := kg("logs", "-l", "app=nothing"); code != 0 || out != "" || !strings.Contains(errOut, "No resources found") {
		t.Errorf("logs -l app=nothing: exit %d\n%s%s", code, out, errOut)
	}

	// A drift made with kubectl, and an object that left git: diff shows both (exit 1),
	// the next sync corrects the one and prunes the other.
	if out, err := kubectl("scale", "deploy/web", "--replicas=4"); err != nil {
		t.Fatalf("kubectl scale: %v\n%s", err, out)
	}
	write(2, false, "cfg leaves")
	out, errOut, code = kg("diff")
	if code != 1 || !strings.Contains(out, "replicas: 4") || !strings.Contains(out, "--- live/configmap/cfg") || !strings.Contains(out, "+++ /dev/null") {
		t.Errorf("diff of a kubectl scale and a removed ConfigMap: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := kg("sync", "--timeout", "120s"); code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("after sync, deploy/web replicas %q, want git's 2", got)
	}
	if got, err := kubectl("get", "cm", "cfg"); err == nil || !strings.Contains(got, "NotFound") {
		t.Errorf("the ConfigMap that left git is still there: %s", got)
	}

	// kgit scale is an override a sync keeps, and sync --force drops.
	if out, errOut, code := kg("scale", "deploy/web", "--replicas", "3", "--timeout", "60s"); code != 0 {
		t.Fatalf("scale: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := kg("sync", "--timeout", "60s"); code != 0 {
		t.Fatalf("sync after scale: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "3" {
		t.Errorf("after scale and sync, replicas %q, want the override's 3", got)
	}
	if out, errOut, code := kg("sync", "--force", "--timeout", "60s"); code != 0 {
		t.Fatalf("sync --force: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("after sync --force, replicas %q, want git's 2", got)
	}

	// Another runner holds the app's Lease: exit 5, and nothing applied.
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	lease := fmt.Sprintf(`{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"kgit-%s","namespace":%q},"spec":{"holderIdentity":"someone-else","leaseDurationSeconds":60,"acquireTime":%q,"renewTime":%q}}`, e.app, ns, now, now)
	if _, err := kubectl("delete", "lease", "kgit-"+e.app, "--ignore-not-found"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kubectl", "--kubeconfig", kc, "create", "-f", "-")
	cmd.Stdin = strings.NewReader(lease)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("create lease: %v\n%s", err, out)
	}
	write(1, false, "one replica")
	if out, errOut, code := kg("sync", "--timeout", "60s"); code != 5 || !strings.Contains(errOut, "someone-else") {
		t.Errorf("sync while another holds the lease: exit %d, want 5 naming the holder\n%s%s", code, out, errOut)
	}
	if got, _ := kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("a locked-out sync changed replicas to %q", got)
	}
	if _, err := kubectl("delete", "lease", "kgit-"+e.app); err != nil {
		t.Fatal(err)
	}

	// A rollout that never becomes ready (kwok's never-ready stage) passes its progress
	// deadline: exit 4, naming the pods.
	doc := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  progressDeadlineSeconds: 10
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {kgit.dev/kwok-pod: never-ready}}
    spec: {containers: [{name: main, image: "nginx:1.28"}]}
`
	if err := os.WriteFile(filepath.Join(e.repo, "web.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("commit", "-qam", "stuck")
	if out, errOut, code := kg("sync", "--timeout", "120s"); code != 4 || !strings.Contains(errOut, "web-") {
		t.Errorf("sync of a rollout that never becomes ready: exit %d, want 4 naming the pods\n%s%s", code, out, errOut)
	}
}
