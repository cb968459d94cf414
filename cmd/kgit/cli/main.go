// Package cli holds kgit's commands: one file per command, each with its flags in a
// struct local to its constructor. Main maps errors to the exit codes of the design.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/probe/probetls"
	"kgit.dev/kgit/backend/process"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"
	"kgit.dev/kgit/reconcile"
)

// Exit codes, the same for every command.
const (
	ExitOK          = 0
	ExitDifferences = 1
	ExitError       = 2
	ExitInvalid     = 3
	ExitRollout     = 4
	ExitLocked      = 5
)

// Main runs kgit with args and returns its exit code; errors are printed once, here.
func Main(args []string, stdout, stderr io.Writer) int {
	if code, ok := process.Hidden(args, stderr, probetls.Handshake); ok { // a pod's supervisor or container: no CLI around it
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ex exitError
	if errors.As(err, &ex) && ex.err == nil {
		return ex.code
	}
	if err != nil {
		fmt.Fprintf(stderr, "kgit: %v\n", err)
	}
	return exitCode(err)
}

// exitError carries an exit code; with a nil err it is a quiet exit (diff's 1).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e exitError) Unwrap() error { return e.err }

// invalid marks an error as invalid input (exit 3).
func invalid(format string, args ...any) error {
	return exitError{code: ExitInvalid, err: fmt.Errorf(format, args...)}
}

func exitCode(err error) int {
	var ex exitError
	var locked *backend.LockedError
	var fe *manifest.FieldError
	var list manifest.ErrorList
	var rollout *reconcile.RolloutError
	var job *reconcile.JobError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ex):
		return ex.code
	case errors.As(err, &rollout), errors.As(err, &job):
		return ExitRollout
	case errors.As(err, &locked):
		return ExitLocked
	case errors.As(err, &list), errors.As(err, &fe),
		errors.Is(err, gitsource.ErrRefNotFound), errors.Is(err, gitsource.ErrPathOutside),
		errors.Is(err, gitsource.ErrPathMissing), errors.Is(err, reconcile.ErrEmptyDesired),
		errors.Is(err, reconcile.ErrInvalid):
		return ExitInvalid
	}
	return ExitError
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "kgit",
		Short:         "GitOps without a cluster: Kubernetes manifests from git, run on a local backend",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitError{code: ExitInvalid, err: fmt.Errorf("%w (see 'kgit %s --help')", err, c.Name())}
	})
	g.register(root)
	_ = root.RegisterFlagCompletionFunc("app", completeApps(g))
	root.AddCommand(
		newSyncCmd(g), newDiffCmd(g), newGetCmd(g), newDescribeCmd(g), newLogsCmd(g),
		newEventsCmd(g), newStatusCmd(g), newTopCmd(g), newExecCmd(g), newPortForwardCmd(g), newRenderCmd(g), newUICmd(g), newRolloutCmd(g), newRollbackCmd(g), newScaleCmd(g), newDownCmd(g), newVersionCmd(g), newProxyCmd(), newIngressCmd(), newCronCmd(g), newCreateCmd(g), newTendCmd(),
	)
	return root
}

// args validators that fail as invalid input.
func exactArgs(n int, usage string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return invalid("%s: expected %s", cmd.Name(), usage)
		}
		return nil
	}
}

func rangeArgs(lo, hi int, usage string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return invalid("%s: expected %s", cmd.Name(), usage)
		}
		return nil
	}
}
