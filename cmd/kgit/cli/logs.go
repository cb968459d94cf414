package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
)

type logsFlags struct {
	container string
	follow    bool
	tail      int
	previous  bool
}

func newLogsCmd(g *globals) *cobra.Command {
	f := &logsFlags{}
	cmd := &cobra.Command{
		Use:   "logs POD",
		Short: "Print a container's logs",
		Args:  exactArgs(1, "a pod name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := g.backend(ctx)
			if err != nil {
				return err
			}
			v, err := findView(ctx, cmd, g, b, "Pod", strings.TrimPrefix(args[0], "pod/"))
			if err != nil {
				return err
			}
			p := v.pod
			c := f.container
			if c == "" {
				if len(p.Spec.Containers) > 1 {
					var names []string
					for _, c := range p.Spec.Containers {
						names = append(names, c.Name)
					}
					return invalid("a container name must be specified for pod %s, choose one of: [%s]", p.Name, strings.Join(names, " "))
				}
				c = p.Spec.Containers[0].Name
			}
			found := false
			for _, x := range p.Spec.Containers {
				found = found || x.Name == c
			}
			if !found {
				return invalid("container %s is not valid for pod %s", c, p.Name)
			}
			return b.Logs(ctx, p.ID, c, backend.LogOptions{Follow: f.follow, Tail: f.tail, Previous: f.previous}, g.stdout)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.container, "container", "c", "", "container name (default: the pod's only container)")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep printing as the container writes")
	fl.IntVar(&f.tail, "tail", -1, "lines from the end to show (default: all)")
	fl.BoolVarP(&f.previous, "previous", "p", false, "the previous instance of the container, after a restart")
	return cmd
}
