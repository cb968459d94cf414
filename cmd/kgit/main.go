// Command kgit is GitOps without a cluster: it applies Kubernetes manifests from a git
// repository to a local container backend.
package main

import (
	"os"

	"kgit.dev/kgit/cmd/kgit/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
