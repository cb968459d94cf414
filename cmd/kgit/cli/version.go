package cli

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend/process"
)

// Version is set at build time with -ldflags "-X kgit.dev/kgit/cmd/kgit/cli.Version=v1.2.3".
var Version = ""

// newVersionCmd prints kgit's version and the program that would supervise the process
// backend's pods (kgit-supervisor, or kgit itself: see process.Supervisor).
func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kgit's version and the program that supervises pods",
		Args:  exactArgs(0, "no arguments"),
		Run: func(cmd *cobra.Command, args []string) {
			v := Version
			if v == "" {
				v = "dev"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
			}
			fmt.Fprintf(g.stdout, "kgit %s\n", v)
			if exe, err := os.Executable(); err == nil {
				sup := process.Supervisor(exe)
				if sup == exe {
					sup += " (kgit itself: no " + process.SupervisorName + " of this build beside it)"
				}
				fmt.Fprintf(g.stdout, "supervisor: %s\n", sup)
			}
		},
	}
}
