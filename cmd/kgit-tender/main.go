// Command kgit-tender tends the pods of one app of kgit's docker backend between kgit's
// commands: it runs their probes, restarts what a liveness probe failed and publishes
// their readiness (see backend/docker's tender.go). kgit starts it (it has no use of its
// own) when it is installed beside kgit's binary; without it kgit runs the same code in
// its own binary. It links no git, CLI or cluster code and no TLS (kgit's binary tends
// the apps whose probes speak HTTPS, and an engine that speaks TLS), so that it stays
// small.
package main

import (
	"fmt"
	"os"

	"kgit.dev/kgit/backend/docker"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != docker.TendCommand {
		fmt.Fprintf(os.Stderr, "%s tends the pods of an app of kgit's docker backend; kgit starts it (usage: %s %s APP)\n",
			docker.TenderName, docker.TenderName, docker.TendCommand)
		os.Exit(2)
	}
	if err := docker.Tender(os.Args[2], nil); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", docker.TenderName, err)
		os.Exit(1)
	}
}
