package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoCLIOrCluster guards what keeps each app's tender small: kgit's own engine
// client and the probes, but no git, CLI framework, cluster client, Kustomize or
// journal, and neither moby's client (net/http, OpenTelemetry: 2.5 MB of RSS linked and
// unused) nor TLS (kgit's binary tends what needs it).
func TestLinksNoCLIOrCluster(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, heavy := range []string{"github.com/go-git/", "github.com/spf13/cobra", "k8s.io/", "sigs.k8s.io/kustomize/", "go.etcd.io/bbolt", "kgit.dev/kgit/reconcile",
		"github.com/moby/moby/client", "go.opentelemetry.io/", "net/http", "crypto/tls", "kgit.dev/kgit/backend/probe/probetls"} {
		for _, dep := range deps {
			if strings.HasPrefix(dep, heavy) && (strings.HasSuffix(heavy, "/") || dep == heavy || strings.HasPrefix(dep, heavy+"/")) {
				t.Errorf("kgit-tender links %s", dep)
			}
		}
	}
	if !strings.Contains(string(out), "kgit.dev/kgit/backend/docker\n") {
		t.Errorf("kgit-tender does not link the docker backend")
	}
}
