package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/backendtest"
	"kgit.dev/kgit/backend/ingress"
	"kgit.dev/kgit/backend/process"
	"kgit.dev/kgit/cmd/kgit/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kgit": func() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script over real git repositories and
// real processes on the process backend. They match output with regular expressions:
// UPDATE_SCRIPTS=1 rewrites only what a script compares with `cmp` against a file of its
// own archive (statefulset.txtar's want-order). kgit's output is pinned by the golden
// files of TestGolden (golden_test.go), which -update rewrites.
func TestScripts(t *testing.T) {
	appDir := t.TempDir() // the scripts' containers may run testapp from PATH
	backendtest.BuildTestApp(t, appDir)
	// Pods are supervised by kgit-supervisor, as where it is installed beside kgit (the
	// rollout and crash tests keep the fallback, kgit's own binary).
	supervisor := backendtest.Build(t, t.TempDir(), "cmd/"+process.SupervisorName)
	if _, err := exec.LookPath("helm"); err != nil && os.Getenv("KGIT_REQUIRE_HELM") == "1" {
		t.Fatalf("helm is not on the PATH and KGIT_REQUIRE_HELM=1: the Helm scenarios must run")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", appDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			root := filepath.Join(env.WorkDir, ".root")
			env.Setenv("KGIT_PROCESS_ROOT", root)
			env.Setenv(process.SupervisorEnv, supervisor)
			env.Setenv("KGIT_STATE_DIR", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("HOME", env.WorkDir)
			for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"} {
				env.Setenv(k, "kgit test")
			}
			for _, k := range []string{"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"} {
				env.Setenv(k, "test@kgit.dev")
			}
			// Whatever a failed script left running is stopped.
			env.Defer(func() { stopAll(root) })
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"pod":      cmdPod,
			"poll":     cmdPoll,
			"procs":    cmdProcs,
			"killproc": cmdKillProc,
			"fetch":    cmdFetch,
			"hammer":   cmdHammer,
		},
	})
}

// stopAll stops what a script left running: first its kgit commands still in the
// background (testscript runs deferred cleanups before it kills them), then every pod
// under root.
func stopAll(root string) {
	for _, pid := range cliProcesses(root) {
		_ = killPID(pid, syscall.SIGKILL)
	}
	b := process.New(root, "")
	if h, ok := backend.IngressHostOf(b); ok {
		ingress.Stop(h.IngressDir())
	}
	routes, _ := b.Routes(context.Background(), nil)
	for _, r := range routes {
		_ = b.Unroute(context.Background(), r.Namespace, r.Name)
	}
	quiet := time.Now()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && time.Since(quiet) < time.Second; {
		pods, _ := b.ListPods(context.Background(), nil)
		for _, p := range pods {
			_ = b.DeletePod(context.Background(), p.ID, 0)
		}
		if len(pods) > 0 {
			quiet = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pod VAR [kgit get args...]: sets $VAR to the name of the first pod listed.
func cmdPod(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: pod VAR [get flags]")
	}
	code, out, errs := runIn(ts, append([]string{"get", "pods", "-o", "json"}, args[1:]...)...)
	if code != 0 {
		ts.Fatalf("kgit get pods: exit %d: %s", code, errs)
	}
	m := regexp.MustCompile(`"name": "([^"]+)",\s*"namespace"`).FindStringSubmatch(out)
	if m == nil {
		ts.Fatalf("no pod found")
	}
	ts.Setenv(args[0], m[1])
}

// runIn runs kgit as its own process with the script's environment and working
// directory: scripts run in parallel, so nothing process-wide (cwd, env) may change.
func runIn(ts *testscript.TestScript, args ...string) (int, string, string) {
	exe, err := os.Executable()
	ts.Check(err)
	env := os.Environ()
	for _, k := range []string{"KGIT_PROCESS_ROOT", "KGIT_STATE_DIR", "HOME", "PATH", process.SupervisorEnv} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	var out, errb bytes.Buffer
	cmd := &exec.Cmd{Path: exe, Args: append([]string{"kgit"}, args...), Env: env, Dir: ts.Getenv("WORK"), Stdout: &out, Stderr: &errb}
	err = cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		ts.Fatalf("run kgit: %v", err)
	}
	return code, out.String(), errb.String()
}

// poll SECONDS REGEXP kgit-args...: reruns kgit until its stdout matches REGEXP;
// "! poll" waits until it no longer does.
func cmdPoll(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: poll SECONDS REGEXP kgit-args...")
	}
	secs, _ := strconv.Atoi(args[0])
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	var out string
	for time.Now().Before(deadline) {
		_, out, _ = runIn(ts, args[2:]...)
		if re.MatchString(out) != neg {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("after %ds, output of kgit %s still %s %q:\n%s", secs, strings.Join(args[2:], " "), map[bool]string{false: "does not match", true: "matches"}[neg], args[1], out)
}

// procs PATTERN N: exactly N processes have PATTERN in their command line.
func cmdProcs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: procs PATTERN N")
	}
	want, _ := strconv.Atoi(args[1])
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := len(findProcs(args[0]))
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			var who []string
			for _, pid := range findProcs(args[0]) {
				stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
				parent, _ := os.ReadFile(fmt.Sprintf("/proc/%s/cmdline", f[1]))
				who = append(who, fmt.Sprintf("%d (parent %s: %s)", pid, f[1], strings.ReplaceAll(string(parent), "\x00", " ")))
			}
			ts.Fatalf("%d processes match %q, want %d: %s", got, args[0], want, strings.Join(who, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killproc PATTERN [SIGNAL]: kills the first process whose command line has PATTERN.
func cmdKillProc(ts *testscript.TestScript, neg bool, args []string) {
	pids := findProcs(args[0])
	if len(pids) == 0 {
		ts.Fatalf("no process matches %q", args[0])
	}
	sig := syscall.SIGKILL
	if len(args) > 1 && args[1] == "TERM" {
		sig = syscall.SIGTERM
	}
	ts.Check(killPID(pids[0], sig))
}

// cliProcesses are the kgit commands (not supervisors) started with KGIT_PROCESS_ROOT=root.
func cliProcesses(root string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		if bytes.Contains(environ, []byte("KGIT_PROCESS_ROOT="+root+"\x00")) && filepath.Base(string(argv0)) == "kgit" &&
			!bytes.Contains(cmdline, []byte(process.SuperviseCommand)) && !bytes.Contains(cmdline, []byte(process.ProxyCommand)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func findProcs(pattern string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue // a zombie is gone, only not yet reaped
		}
		if strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), pattern) {
			pids = append(pids, pid)
		}
	}
	return pids
}
