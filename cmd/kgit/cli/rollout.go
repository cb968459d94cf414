package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"

	"kgit.dev/kgit/reconcile"
	"kgit.dev/kgit/reconcile/controller"
)

func newRolloutCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Watch, list and undo the rollouts of Deployments",
	}
	cmd.AddCommand(newRolloutStatusCmd(g), newRolloutHistoryCmd(g), newRolloutUndoCmd(g), newRolloutRestartCmd(g))
	return cmd
}

// deployArg parses deploy/NAME (or deployment/NAME, deployments/NAME).
func deployArg(arg string) (string, error) {
	kindArg, name, ok := strings.Cut(arg, "/")
	if !ok || name == "" {
		return "", invalid("expected deploy/NAME, got %q", arg)
	}
	if kind, err := kindOf(kindArg); err != nil || kind != "Deployment" {
		return "", invalid("%q: only Deployments have rollouts", arg)
	}
	return name, nil
}

func newRolloutStatusCmd(g *globals) *cobra.Command {
	var watch bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:               "status deploy/NAME",
		Short:             "Wait for a Deployment's rollout and print kubectl's messages (exit 0: complete, 4: deadline exceeded)",
		Args:              exactArgs(1, "deploy/NAME"),
		ValidArgsFunction: completeKindNames(g, "deploy"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := deployArg(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cluster := g.backendChoice() == KubernetesName
			var b backend.Backend
			if !cluster {
				if b, err = g.backend(ctx); err != nil {
					return err
				}
			}
			var deadline <-chan time.Time
			if timeout > 0 {
				deadline = time.After(timeout)
			}
			last := ""
			for {
				var msg string
				var done, failed bool
				if cluster {
					msg, done, failed, err = clusterRolloutStatus(ctx, g, name)
				} else {
					msg, done, failed, err = localRolloutStatus(ctx, cmd, g, b, name)
				}
				if err != nil {
					return err
				}
				if failed {
					return exitError{code: ExitRollout, err: fmt.Errorf("%s", msg)}
				}
				if msg != last {
					fmt.Fprint(g.stdout, msg)
					last = msg
				}
				if done || !watch {
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-deadline:
					return fmt.Errorf("timed out waiting for the condition")
				case <-time.After(200 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "keep watching until the rollout ends")
	g.cluster.registerNamespace(cmd.Flags())
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: never)")
	return cmd
}

type historyFlags struct {
	revision int
	output   string
}

// revisionLine is one revision as history prints it, with what git says of its commit.
type revisionLine struct {
	reconcile.Revision
	Subject string `json:"subject"`
	Author  string `json:"author"`
	// SignedBy says who signed the commit, by a key of --trusted-keys, or why no trusted
	// key did; empty without --trusted-keys.
	SignedBy string `json:"signedBy,omitempty"`
}

func newRolloutHistoryCmd(g *globals) *cobra.Command {
	f := &historyFlags{}
	cmd := &cobra.Command{
		Use:               "history deploy/NAME",
		Short:             "List a Deployment's revisions: number, commit, subject, author, when applied",
		Args:              exactArgs(1, "deploy/NAME"),
		ValidArgsFunction: completeKindNames(g, "deploy"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output != "" && f.output != "json" {
				return invalid("--output %q: supported: json", f.output)
			}
			name, err := deployArg(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if g.backendChoice() == KubernetesName {
				revs, err := clusterHistory(ctx, g, name)
				if err != nil {
					return err
				}
				return printHistory(g, name, g.describeCommits(ctx, revs), f)
			}
			b, err := g.backend(ctx)
			if err != nil {
				return err
			}
			v, err := findView(ctx, cmd, g, b, "Deployment", name)
			if err != nil {
				return err
			}
			st, err := controller.Load(ctx, b, v.app)
			if err != nil {
				return err
			}
			lines := g.describeCommits(ctx, controller.History(st, manifest.Key{Kind: "Deployment", Namespace: v.namespace, Name: name}))
			return printHistory(g, name, lines, f)
		},
	}
	cmd.Flags().IntVar(&f.revision, "revision", 0, "show the template of this revision")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "output format: json")
	g.cluster.registerNamespace(cmd.Flags())
	cmd.Flags().StringArrayVar(&g.trust.trustedKeys, "trusted-keys", nil, "show who signed each revision's commit, by these keys (armored OpenPGP, authorized_keys or allowed_signers; repeatable)")
	return cmd
}

// describeCommits adds each revision's commit subject and author from git; on a
// machine without the repository they stay empty.
func (g *globals) describeCommits(ctx context.Context, revs []reconcile.Revision) []revisionLine {
	out := make([]revisionLine, len(revs))
	repo, _ := g.repository(ctx)
	keys := g.trust.historyKeys()
	for i, r := range revs {
		out[i] = revisionLine{Revision: r}
		if repo == nil {
			continue
		}
		if c, ok := repo.Describe(r.Commit); ok {
			out[i].Subject, out[i].Author = c.Subject, c.Author
		}
		if keys != nil {
			if s, err := repo.SignerOf(r.Commit, keys); err == nil {
				out[i].SignedBy = s.String()
			} else {
				out[i].SignedBy = "not by a trusted key: " + err.Error()
			}
		}
	}
	return out
}

func printHistory(g *globals, name string, lines []revisionLine, f *historyFlags) error {
	if f.revision != 0 {
		for _, l := range lines {
			if l.Number == f.revision {
				if f.output == "json" {
					return printJSON(g.stdout, l)
				}
				fmt.Fprintf(g.stdout, "deployment.apps/%s with revision #%d (commit %.12s)\n", name, l.Number, l.Commit)
				data, err := yaml.Marshal(l.Template)
				if err != nil {
					return err
				}
				_, err = g.stdout.Write(data)
				return err
			}
		}
		return invalid("unable to find the specified revision %d of deployment %q", f.revision, name)
	}
	if f.output == "json" {
		return printJSON(g.stdout, lines)
	}
	if len(lines) == 0 {
		fmt.Fprintln(g.stdout, "No rollout history found.")
		return nil
	}
	fmt.Fprintf(g.stdout, "deployment.apps/%s\n", name)
	tw := tabwriter.NewWriter(g.stdout, 0, 8, 2, ' ', 0)
	signed := len(lines) > 0 && lines[0].SignedBy != ""
	if signed {
		fmt.Fprintln(tw, "REVISION\tCOMMIT\tSUBJECT\tAUTHOR\tSIGNED BY\tAPPLIED")
	} else {
		fmt.Fprintln(tw, "REVISION\tCOMMIT\tSUBJECT\tAUTHOR\tAPPLIED")
	}
	now := time.Now()
	for _, l := range lines {
		cur := ""
		if l.Current {
			cur = " (current)"
		}
		if signed {
			fmt.Fprintf(tw, "%d\t%.12s\t%s\t%s\t%s\t%s ago%s\n", l.Number, l.Commit, orNone(l.Subject), orNone(l.Author), l.SignedBy, humanDuration(now.Sub(l.Applied)), cur)
			continue
		}
		fmt.Fprintf(tw, "%d\t%.12s\t%s\t%s\t%s ago%s\n", l.Number, l.Commit, orNone(l.Subject), orNone(l.Author), humanDuration(now.Sub(l.Applied)), cur)
	}
	return tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newRolloutUndoCmd(g *globals) *cobra.Command {
	f := &changeFlags{}
	var toRevision int
	cmd := &cobra.Command{
		Use:               "undo deploy/NAME",
		Short:             "Roll a Deployment back to an earlier revision's template (the previous one by default)",
		Args:              exactArgs(1, "deploy/NAME"),
		ValidArgsFunction: completeKindNames(g, "deploy"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.changeDeployment(cmd.Context(), f, args[0], func(ctx context.Context, s *reconcile.Syncer, live reconcile.Live, name string) error {
				check := func(commit string) error {
					repo, err := g.repository(ctx)
					if err != nil {
						return err
					}
					return g.trust.verifyTarget(repo, commit)
				}
				line, err := s.Undo(ctx, live, name, toRevision, check)
				if err == nil {
					fmt.Fprintln(g.stdout, line)
				}
				return err
			})
		},
	}
	cmd.Flags().IntVar(&toRevision, "to-revision", 0, "the revision to roll back to (0: the previous one)")
	f.register(cmd.Flags(), true)
	g.trust.register(cmd.Flags())
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}

// clusterHistory is a Deployment's history on a cluster, from its ReplicaSets.
func clusterHistory(ctx context.Context, g *globals, name string) ([]reconcile.Revision, error) {
	app, err := g.appName()
	if err != nil {
		return nil, err
	}
	st, err := g.site(ctx)
	if err != nil {
		return nil, err
	}
	s, err := g.syncer(ctx, st, app, nil, nil)
	if err != nil {
		return nil, err
	}
	live, err := s.Target.Load(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.Deployment(live, name)
	if err != nil {
		return nil, err
	}
	return s.Target.History(live, a.Key), nil
}

// localRolloutStatus is rollout status on a local backend, from its pods and the progress
// kgit recorded.
func localRolloutStatus(ctx context.Context, cmd *cobra.Command, g *globals, b backend.Backend, name string) (string, bool, bool, error) {
	v, err := findView(ctx, cmd, g, b, "Deployment", name)
	if err != nil {
		return "", false, false, err
	}
	st, err := controller.Load(ctx, b, v.app)
	if err != nil {
		return "", false, false, err
	}
	return st.RolloutStatus(manifest.Key{Kind: "Deployment", Namespace: v.namespace, Name: name}, time.Now())
}

func newRolloutRestartCmd(g *globals) *cobra.Command {
	f := &changeFlags{}
	cmd := &cobra.Command{
		Use:               "restart deploy/NAME",
		Short:             "Replace a Deployment's pods through the normal rolling update, as kubectl does; it holds until git changes that Deployment",
		Args:              exactArgs(1, "deploy/NAME"),
		ValidArgsFunction: completeKindNames(g, "deploy"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.changeDeployment(cmd.Context(), f, args[0], func(ctx context.Context, s *reconcile.Syncer, live reconcile.Live, name string) error {
				if err := s.Restart(ctx, live, name); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "deployment.apps/%s restarted\n", name)
				return nil
			})
		},
	}
	f.register(cmd.Flags(), true)
	g.cluster.registerNamespace(cmd.Flags())
	return cmd
}
