package cli

import (
	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend/docker"
	"kgit.dev/kgit/backend/probe/probetls"
)

// newTendCmd is the hidden mode in which kgit's binary tends the docker pods of one app
// between kgit's commands, where kgit-tender is not installed beside it.
func newTendCmd() *cobra.Command {
	return &cobra.Command{
		Use:    docker.TendCommand + " APP",
		Hidden: true,
		Args:   exactArgs(1, "APP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return docker.Tender(args[0], probetls.Handshake)
		},
	}
}
