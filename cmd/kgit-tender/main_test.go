package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoCLIOrCluster guards what keeps each app's tender small: the docker client
// and the probes, but no git, CLI framework, cluster client, Kustomize or journal.
func TestLinksNoCLIOrCluster(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, heavy := range []string{"github.com/go-git/", "github.com/spf13/cobra", "k8s.io/", "sigs.k8s.io/kustomize/", "go.etcd.io/bbolt", "kgit.dev/kgit/reconcile"} {
		for _, dep := range deps {
			if strings.HasPrefix(dep, heavy) {
				t.Errorf("kgit-tender links %s", dep)
			}
		}
	}
	if !strings.Contains(string(out), "kgit.dev/kgit/backend/docker\n") {
		t.Errorf("kgit-tender does not link the docker backend")
	}
}
