// Package clustertest starts a real Kubernetes control plane for a test: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok, built by
// testdata/cluster/build.sh into a cache outside the repository and started by
// testdata/cluster/cluster.sh. Without the binaries a test skips, and fails when
// KGIT_REQUIRE_CLUSTER=1 (as .ci/run sets).
package clustertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Start starts a cluster for t, stopped when t ends, and returns its kubeconfig.
// KGIT_TEST_KUBECONFIG names a running cluster to use instead.
func Start(t testing.TB) string {
	t.Helper()
	if kc := os.Getenv("KGIT_TEST_KUBECONFIG"); kc != "" {
		return kc
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "cluster", "cluster.sh")
	bin := Bin()
	if bin == "" {
		if os.Getenv("KGIT_REQUIRE_CLUSTER") == "1" {
			t.Fatal("the control plane's binaries are not built (testdata/cluster/build.sh) and KGIT_REQUIRE_CLUSTER=1")
		}
		t.Skip("the control plane's binaries are not built (testdata/cluster/build.sh)")
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", script, "up", dir)
	cmd.Env = append(os.Environ(), "KGIT_CLUSTER_BIN="+bin)
	out, err := cmd.Output()
	t.Cleanup(func() { _ = exec.Command("bash", script, "down", dir).Run() })
	if err != nil {
		logs, _ := exec.Command("sh", "-c", "tail -n 20 "+dir+"/logs/*").CombinedOutput()
		t.Fatalf("cluster.sh up: %v\n%s", err, logs)
	}
	return strings.TrimSpace(string(out))
}

// Bin is the folder of the control plane's binaries: $KGIT_CLUSTER_BIN, else one of
// testdata/cluster/build.sh's cache that holds them all; "" when none does.
func Bin() string {
	dirs := []string{os.Getenv("KGIT_CLUSTER_BIN")}
	cache := os.Getenv("KGIT_CLUSTER_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "kgit-cluster")
	}
	found, _ := filepath.Glob(filepath.Join(cache, "*", "bin"))
	for _, d := range append(dirs, found...) {
		if d == "" {
			continue
		}
		all := true
		for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
			if _, err := os.Stat(filepath.Join(d, b)); err != nil {
				all = false
			}
		}
		if all {
			return d
		}
	}
	return ""
}
