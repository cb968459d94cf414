package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"kgit.dev/kgit/backend"
)

type execFlags struct {
	container  string
	stdin, tty bool
}

func newExecCmd(g *globals) *cobra.Command {
	f := &execFlags{}
	cmd := &cobra.Command{
		Use:   "exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] -- COMMAND [ARGS...]",
		Short: "Run a command in a container, as its exec probes run; kgit exits with the command's exit code",
		Long: "Run a command in a running container, as kubectl exec does: in the container's environment, working\n" +
			"directory and files (on the process backend, its mount namespace and volumes). TYPE/NAME picks\n" +
			"one ready pod of a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or Service.\n" +
			"kgit exits with the command's exit code.",
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 || len(args) < 2 {
				return invalid("exec: expected POD or TYPE/NAME, then -- and a command (kgit exec web-1 -- ls)")
			}
			return nil
		},
		ValidArgsFunction: completePods(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var e backend.Execer
			var pods []view
			var err error
			if g.backendChoice() == KubernetesName { // the pod's kubelet runs it, through the API server
				e, pods, _, err = clusterPods(ctx, g, args[0])
			} else {
				var b backend.Backend
				b, pods, err = g.podsWith(cmd, args[0], "run a command in a container", func(b backend.Backend) bool { _, ok := backend.ExecerOf(b); return ok })
				e, _ = backend.ExecerOf(b)
			}
			if err != nil {
				return err
			}
			p := pods[0].pod
			c, err := podContainer(p, f.container, g.stderr)
			if err != nil {
				return err
			}
			opts := backend.ExecOptions{Command: args[1:], Stdout: g.stdout, Stderr: g.stderr}
			if f.stdin {
				opts.Stdin = os.Stdin
			}
			if f.tty && f.stdin {
				if term.IsTerminal(int(os.Stdin.Fd())) {
					// The terminal itself: output and input go straight to it.
					opts.TTY, opts.Stdout = true, os.Stdout
				} else {
					fmt.Fprintln(g.stderr, "Unable to use a TTY - input is not a terminal or the right kind of file")
				}
			}
			code, err := e.Exec(ctx, p, c, opts)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code: code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.container, "container", "c", "", "container name (default: the kubectl.kubernetes.io/default-container annotation, else the first)")
	fl.BoolVarP(&f.stdin, "stdin", "i", false, "pass stdin to the command")
	fl.BoolVarP(&f.tty, "tty", "t", false, "stdin is a terminal: give the command one")
	g.cluster.registerReadNamespace(cmd.Flags())
	return cmd
}
