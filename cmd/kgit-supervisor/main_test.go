package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoHeavyPackages guards what keeps every pod's supervisor small: it must not
// link git, the docker client, the CLI framework, net/http or crypto/tls (whose pages a
// process touches at start, once per pod).
func TestLinksNoHeavyPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/go-git/", "github.com/moby/", "github.com/spf13/cobra", "net/http", "crypto/tls", "go.etcd.io/bbolt", "sigs.k8s.io/yaml"} {
			if dep == heavy || strings.HasPrefix(dep, heavy) {
				t.Errorf("kgit-supervisor links %s", dep)
			}
		}
	}
}
