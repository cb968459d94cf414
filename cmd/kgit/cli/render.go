package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"kgit.dev/kgit/manifest"
)

func newRenderCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print what a sync would apply: the --path rendered (plain folder, kustomization or Helm chart), Secret values masked",
		Long: "Print the documents a sync of the source would apply, as `kustomize build` and\n" +
			"`flux build` do: the folder at --path as it is, a kustomization built, or a Helm\n" +
			"chart rendered with `helm template` (release: the app's name). SOPS files are\n" +
			"decrypted in memory; the values of Secrets (and of ConfigMaps from encrypted files)\n" +
			"are masked. Every document is decoded and validated first: a broken one is exit 3.",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			repo, err := g.repository(ctx)
			if err != nil {
				return err
			}
			c, err := repo.Resolve("")
			if err != nil {
				return err
			}
			r, err := g.renderCommit(ctx, repo, "", c, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "# %s of %s at %.12s (%s): %d objects\n", r.res.Kind, orRoot(r.res.Entry), c.Hash, c.Subject, len(r.objs))
			for i, o := range r.objs {
				data, err := shown(o)
				if err != nil {
					return err
				}
				if i > 0 {
					fmt.Fprintln(g.stdout, "---")
				}
				g.stdout.Write(data)
			}
			return nil
		},
	}
	g.trust.register(cmd.Flags())
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}

// shown is an object as render prints it: as written (its rendered document, as YAML),
// with every value masked when it is sensitive.
func shown(o *manifest.Object) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(o.Raw, &doc); err != nil {
		return nil, err
	}
	if !manifest.Sensitive(o.Obj) {
		return yaml.Marshal(doc)
	}
	for _, field := range []string{"data", "stringData", "binaryData"} {
		if m, ok := doc[field].(map[string]any); ok {
			for k := range m {
				m[k] = "(secret value)"
			}
		}
	}
	if ann, ok := doc["metadata"].(map[string]any)["annotations"].(map[string]any); ok {
		delete(ann, manifest.DecryptedAnnotation)
	}
	return yaml.Marshal(doc)
}
