package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/cmd/kgit/cli/webui"
)

func newStatusCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status [APP]",
		Short: "Every app on the backend, one line each: source, synced commit against the branch head, in sync or drifted, health, overrides, last sync",
		Long: "Every app on the backend, one line each: repository and path, the synced commit\n" +
			"(short SHA, subject) against the branch head (N commits behind), in sync or drifted\n" +
			"(what diff would say), health (Healthy, Progressing, Degraded, Missing), overrides in\n" +
			"force, and the last sync's time and result. An app's source comes from the journal of\n" +
			"this machine's last sync of it. With APP, that app in detail.",
		Args: rangeArgs(0, 1, "an optional app"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "json" {
				return invalid("--output %q: supported: json", output)
			}
			ctx := cmd.Context()
			b, err := g.backend(ctx)
			if err != nil {
				return err
			}
			snap, err := newUISource(g, b).Read(ctx)
			if err != nil {
				return err
			}
			var apps []webui.Summary
			for _, a := range snap.Apps {
				if len(args) == 0 || a.Name == args[0] {
					apps = append(apps, a.Summary)
				}
			}
			if len(args) == 1 && len(apps) == 0 {
				return invalid("app %q not found on the %s backend", args[0], b.Name())
			}
			if output == "json" {
				return printJSON(g.stdout, apps)
			}
			if len(apps) == 0 {
				fmt.Fprintln(g.stderr, "No apps found.")
				return nil
			}
			if len(args) == 1 {
				printStatusDetail(g, apps[0])
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 6, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "APP\tSOURCE\tSYNCED\tHEAD\tSYNC\tHEALTH\tOVERRIDES\tLAST SYNC")
			now := time.Now()
			for _, a := range apps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, orNone(source(a)), orNone(short(a.Commit)), behind(a), a.Sync, a.Health,
					orNone(strings.Join(a.Overrides, "; ")), lastSync(a, now))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}

func printStatusDetail(g *globals, a webui.Summary) {
	now := time.Now()
	field := func(k, v string) { fmt.Fprintf(g.stdout, "%-12s%s\n", k+":", v) }
	field("App", a.Name)
	field("Source", orNone(source(a)))
	field("Synced", orNone(strings.TrimSpace(short(a.Commit)+" "+a.Subject)))
	field("Head", strings.TrimSpace(short(a.Head)+" "+a.HeadSubject+" ("+behind(a)+")"))
	sync := a.Sync
	if a.SyncError != "" {
		sync += " (" + a.SyncError + ")"
	}
	field("Sync", sync)
	field("Health", a.Health)
	field("Pods", fmt.Sprintf("%d/%d ready", a.PodsReady, a.PodsDesired))
	field("Overrides", orNone(strings.Join(a.Overrides, "; ")))
	field("Last sync", lastSync(a, now))
}

func source(a webui.Summary) string {
	if a.Repo == "" {
		return ""
	}
	s := a.Repo
	if a.Path != "" {
		s += " " + a.Path
	}
	if a.Ref != "" {
		s += "@" + a.Ref
	}
	return s
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func behind(a webui.Summary) string {
	switch {
	case a.Behind < 0:
		return "unknown"
	case a.Behind == 0:
		return "up to date"
	}
	return fmt.Sprintf("%d behind", a.Behind)
}

func lastSync(a webui.Summary, now time.Time) string {
	if a.LastSync == nil {
		return "<none>"
	}
	return humanDuration(now.Sub(a.LastSync.Time)) + " ago, " + a.LastSync.Result
}
