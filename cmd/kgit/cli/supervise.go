package cli

import (
	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend/docker"
	"kgit.dev/kgit/backend/process"
)

// newSuperviseCmd is the hidden mode in which kgit's binary supervises one pod of the
// process backend.
func newSuperviseCmd() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:    process.SuperviseCommand + " POD",
		Hidden: true,
		Args:   exactArgs(1, "a pod id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return process.Supervise(root, args[0])
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "the process backend's root")
	return cmd
}

// newProxyCmd is the hidden mode in which kgit's binary serves one Service of the
// process backend.
func newProxyCmd() *cobra.Command {
	var root, route string
	cmd := &cobra.Command{
		Use:    process.ProxyCommand + " (--root ROOT SERVICE | --docker ROUTE)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if route != "" {
				return docker.Proxy(route)
			}
			if len(args) != 1 {
				return invalid("%s needs a service id", process.ProxyCommand)
			}
			return process.Proxy(root, args[0])
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "the process backend's root")
	cmd.Flags().StringVar(&route, "docker", "", "the docker route to serve (JSON)")
	return cmd
}
