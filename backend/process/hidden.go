package process

import (
	"debug/buildinfo"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/internal/tmpdir"
)

// SuperviseCommand is the hidden command that runs a pod's supervisor.
const SuperviseCommand = "__supervise"

// SupervisorName is the small program that supervises pods, installed beside kgit. It
// links no git, docker or CLI code, so each pod's supervisor costs about half the
// memory that kgit's own binary in the same mode costs.
const SupervisorName = "kgit-supervisor"

// SupervisorEnv names the supervisor program explicitly (packagers, tests).
const SupervisorEnv = "KGIT_SUPERVISOR"

// Supervisor picks the program that supervises pods: $KGIT_SUPERVISOR, else
// kgit-supervisor beside kgit's binary when it comes from the same build, else kgit's
// binary itself, which has the same hidden modes.
func Supervisor(kgit string) string {
	if p := os.Getenv(SupervisorEnv); p != "" {
		return p
	}
	return Beside(kgit, SupervisorName)
}

// Beside returns the program name installed beside kgit's binary when it comes from the
// same build, else kgit's binary itself (which has the hidden modes of kgit's programs).
func Beside(kgit, name string) string {
	beside := filepath.Join(filepath.Dir(kgit), name)
	if isExecutable(beside) && sameBuild(kgit, beside) {
		return beside
	}
	return kgit
}

// sameBuild reports whether two programs were built from the same source, as far as
// their build information says (module version, commit, modified tree, Go version): a
// kgit upgraded without its kgit-supervisor must not hand pods to the old one. A
// program without readable build information is given the benefit of the doubt.
func sameBuild(a, b string) bool {
	ia, errA := buildinfo.ReadFile(a)
	ib, errB := buildinfo.ReadFile(b)
	if errA != nil || errB != nil {
		return true
	}
	return buildStamp(ia) == buildStamp(ib)
}

func buildStamp(bi *debug.BuildInfo) string {
	stamp := bi.GoVersion + " " + bi.Main.Path + "@" + bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time", "vcs.modified":
			stamp += " " + s.Key + "=" + s.Value
		}
	}
	return stamp
}

// Hidden runs the process backend's hidden mode that args name, if any, and returns its
// exit code; ok is false for any other args. kgit, kgit-supervisor and the tests'
// binaries all enter these modes here:
//
//	__supervise --root ROOT POD      a pod's supervisor
//	__proxy --root ROOT SERVICE      a Service's proxy (`__proxy --docker` is kgit's)
//	__mountexec MOUNTS PATH ARGV...  a container starting in its mount namespace
//
// tls secures HTTPS probes: kgit passes it, kgit-supervisor has none (see Backend.program).
func Hidden(args []string, stderr io.Writer, tls probe.Handshake) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case MountCommand: // a container starting: it only returns when it could not exec
		fmt.Fprintf(stderr, "kgit: %v\n", MountExec(args[1:]))
		return 127, true
	case SuperviseCommand:
		supervise := func(root, id string) error { return Supervise(root, id, tls) }
		return rootedMode(args, "POD", supervise, stderr), true
	case ProxyCommand:
		if len(args) < 2 || !strings.HasPrefix(args[1], "--root") {
			return 0, false // the docker backend's proxy: kgit's CLI serves it
		}
		return rootedMode(args, "SERVICE", Proxy, stderr), true
	}
	return 0, false
}

// rootedMode runs a mode that takes `--root ROOT ID`.
func rootedMode(args []string, id string, run func(root, id string) error, stderr io.Writer) int {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "the process backend's root")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *root == "" || fs.NArg() != 1 {
		fmt.Fprintf(stderr, "usage: %s --root ROOT %s\n", args[0], id)
		return 2
	}
	if err := run(*root, fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "kgit: %v\n", err)
		return 1
	}
	return 0
}

// Name is the backend's name.
const Name = "process"

// DefaultRoot is where pods live: $KGIT_PROCESS_ROOT, else $XDG_RUNTIME_DIR/kgit, else
// /run/kgit for root, else a per-user folder under the temp dir, which must be the
// user's own (another user could have made it first, and so run commands as this one).
func DefaultRoot() (string, error) {
	if r := os.Getenv("KGIT_PROCESS_ROOT"); r != "" {
		return r, nil
	}
	if r := os.Getenv("XDG_RUNTIME_DIR"); r != "" {
		return filepath.Join(r, "kgit"), nil
	}
	if os.Geteuid() == 0 {
		return "/run/kgit", nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kgit-%d", os.Geteuid()))
	if runtime.GOOS != "linux" {
		return dir, nil // the backend runs on Linux only, and says so when opened
	}
	if err := tmpdir.Make(dir); err != nil {
		return "", fmt.Errorf("process: %w", err)
	}
	return dir, nil
}

// ProxyCommand is the hidden mode that serves one Service: it listens on the
// Service's address (and node ports) and forwards each connection to a ready pod.
const ProxyCommand = "__proxy"

// MountCommand is the hidden kgit command that mounts a container's volumes in a mount
// namespace of its own and then executes the container's command: a host process sees
// its configMap, secret, emptyDir and claim volumes at their mountPaths, and no other
// process does.
const MountCommand = "__mountexec"

// isExecutable reports whether path is a file with an execute bit.
func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
