package cli

import (
	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend/docker"
	"kgit.dev/kgit/backend/ingress"
	"kgit.dev/kgit/backend/process"
)

// newProxyCmd is the hidden mode in which kgit's binary serves one Service of the docker
// backend (the process backend's proxies start in process.Hidden, before the CLI).
func newProxyCmd() *cobra.Command {
	var route string
	cmd := &cobra.Command{
		Use:    process.ProxyCommand + " --docker ROUTE",
		Hidden: true,
		Args:   exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if route == "" {
				return invalid("%s needs --docker ROUTE", process.ProxyCommand)
			}
			return docker.Proxy(route)
		},
	}
	cmd.Flags().StringVar(&route, "docker", "", "the docker route to serve (JSON)")
	return cmd
}

// newIngressCmd is the hidden mode in which kgit's binary runs the ingress controller
// of a backend (its folder as the argument), started by a sync (backend/ingress).
func newIngressCmd() *cobra.Command {
	return &cobra.Command{
		Use:    ingress.Command + " DIR",
		Hidden: true,
		Args:   exactArgs(1, "the controller's folder"),
		RunE:   func(cmd *cobra.Command, args []string) error { return ingress.Run(args[0]) },
	}
}
