// Command kgit-supervisor supervises one pod of kgit's process backend: it starts the
// pod's containers as host processes, restarts and probes them, and keeps their logs;
// it also serves the backend's Services (one proxy process each).
// kgit starts it (it has no use of its own) when it is installed beside kgit's binary;
// without it kgit runs the same code in its own binary. It links no git, docker or CLI
// code, so that each pod's supervisor stays small.
package main

import (
	"fmt"
	"os"

	"kgit.dev/kgit/backend/process"
)

func main() {
	if code, ok := process.Hidden(os.Args[1:], os.Stderr, nil); ok { // no TLS: see process.Backend.program
		os.Exit(code)
	}
	fmt.Fprintf(os.Stderr, "%s runs the pods of kgit's process backend; kgit starts it (usage: %s %s --root ROOT POD)\n",
		process.SupervisorName, process.SupervisorName, process.SuperviseCommand)
	os.Exit(2)
}
