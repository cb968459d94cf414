package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

func newDescribeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe KIND/NAME",
		Short: "Show one object in detail, with its events",
		Args:  exactArgs(1, "KIND/NAME, e.g. deploy/web"),
		RunE: func(cmd *cobra.Command, args []string) error {
			kindArg, name, ok := strings.Cut(args[0], "/")
			if !ok || name == "" {
				return invalid("describe: expected KIND/NAME, e.g. deploy/web, got %q", args[0])
			}
			kind, err := kindOf(kindArg)
			if err != nil {
				return err
			}
			b, err := g.backend(cmd.Context())
			if err != nil {
				return err
			}
			v, err := findView(cmd.Context(), cmd, g, b, kind, name)
			if err != nil {
				return err
			}
			events, err := reconcile.OpenJournal(g.state()).Events(v.app)
			if err != nil {
				return err
			}
			describe(g.stdout, v, events, time.Now())
			return nil
		},
	}
}

func describe(w io.Writer, v view, events []reconcile.Event, now time.Time) {
	field := func(k, val string) { fmt.Fprintf(w, "%-24s%s\n", k+":", val) }
	field("Name", v.name)
	field("Namespace", v.namespace)
	field("App", v.app)
	field("CreationTimestamp", v.created.UTC().Format(time.RFC1123Z))
	field("Labels", orNone(manifest.LabelString(v.labels)))
	field("Annotations", orNone(manifest.LabelString(v.annotations)))
	var spec *manifest.PodSpec
	switch {
	case v.deploy != nil:
		d, s := v.deploy, v.dstatus
		field("Selector", d.Spec.Selector.String())
		field("Replicas", fmt.Sprintf("%d desired | %d updated | %d total | %d available | %d unavailable", *d.Spec.Replicas, s.Updated, s.Replicas, s.Available, max(0, s.Replicas-s.Available)))
		field("StrategyType", d.Spec.Strategy.Type)
		field("MinReadySeconds", fmt.Sprint(d.Spec.MinReadySeconds))
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
			field("RollingUpdateStrategy", fmt.Sprintf("%s max unavailable, %s max surge", ru.MaxUnavailable, ru.MaxSurge))
		}
		if c := v.progress.Progressing; c != nil {
			fmt.Fprintf(w, "Conditions:\n  Type          Status  Reason\n  ----          ------  ------\n  Progressing   %-7s %s\n", c.Status, c.Reason)
		}
		if s.NewRS != nil {
			field("NewReplicaSet", fmt.Sprintf("%s (%d/%d replicas created)", s.NewRS.RS.Name, s.NewRS.Counts(now).Replicas, s.NewRS.Replicas()))
			field("Revision", fmt.Sprint(s.Revision))
		}
		spec = &d.Spec.Template.Spec
	case v.rs != nil:
		c := v.rs.Counts(now)
		field("Selector", v.rs.RS.Spec.Selector.String())
		field("Controlled By", "Deployment/"+v.rs.Owner.Name)
		field("Replicas", fmt.Sprintf("%d current / %d desired", c.Replicas, v.rs.Replicas()))
		field("Pods Status", fmt.Sprintf("%d Ready / %d Available", c.Ready, c.Available))
		field("Commit", v.rs.Commit)
		spec = &v.rs.RS.Spec.Template.Spec
	case v.daemon != nil:
		ds, s := v.daemon, v.dstatus
		field("Selector", ds.Spec.Selector.String())
		field("Pods", fmt.Sprintf("1 desired | %d current | %d ready | %d updated | %d available", s.Replicas, s.Ready, s.Updated, s.Available))
		field("Update Strategy", ds.Spec.UpdateStrategy.Type)
		spec = &ds.Spec.Template.Spec
	case v.service != nil:
		describeService(field, v)
	case v.stateful != nil:
		ss := v.stateful
		field("Selector", ss.Spec.Selector.String())
		field("Replicas", fmt.Sprintf("%d desired | %d total", *ss.Spec.Replicas, v.counts.Replicas))
		field("Pods Status", fmt.Sprintf("%d Ready / %d Available", v.counts.Ready, v.counts.Available))
		field("Pod Management Policy", ss.Spec.PodManagementPolicy)
		strategy := ss.Spec.UpdateStrategy.Type
		if ru := ss.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
			strategy += fmt.Sprintf(" (partition %d)", *ru.Partition)
		}
		field("Update Strategy", strategy)
		for _, c := range ss.Spec.VolumeClaimTemplates {
			field("Volume Claim", fmt.Sprintf("%s (one per pod: %s)", c.Name, manifest.ClaimName(c.Name, ss.Name, 0)+", ..."))
		}
		spec = &ss.Spec.Template.Spec
	case v.pod != nil:
		p := v.pod
		field("Status", podStatusText(p))
		field("IP", orNone(p.Status.PodIP))
		if !p.Status.StartTime.IsZero() {
			field("Start Time", p.Status.StartTime.UTC().Format(time.RFC1123Z))
		}
		field("Ready", fmt.Sprint(p.Status.Ready))
		fmt.Fprintln(w, "Containers:")
		for _, c := range p.Status.Containers {
			fmt.Fprintf(w, "  %s:\n", c.Name)
			fmt.Fprintf(w, "    State:          %s", strings.ToUpper(c.State[:1])+c.State[1:])
			if c.Reason != "" {
				fmt.Fprintf(w, " (%s)", c.Reason)
			}
			fmt.Fprintln(w)
			if c.State == "terminated" || c.LastTermination != nil {
				t := c.LastTermination
				if t != nil {
					fmt.Fprintf(w, "    Last Exit Code: %d (%s at %s)\n", t.ExitCode, t.Reason, t.FinishedAt.UTC().Format(time.RFC3339))
				}
			}
			fmt.Fprintf(w, "    Restart Count:  %d\n", c.RestartCount)
			if c.Message != "" {
				fmt.Fprintf(w, "    Message:        %s\n", c.Message)
			}
		}
		spec = &p.Spec
	}
	if spec != nil {
		describeVolumes(w, spec)
		fmt.Fprintln(w, "Pod Template:")
		for _, c := range spec.Containers {
			fmt.Fprintf(w, "  %s:\n    Image:    %s\n    Command:  %s\n", c.Name, c.Image, strings.Join(append(append([]string{}, c.Command...), c.Args...), " "))
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					fmt.Fprintf(w, "    EnvFrom:  configmap %s (prefix %q)\n", ef.ConfigMapRef.Name, ef.Prefix)
				} else if ef.SecretRef != nil {
					fmt.Fprintf(w, "    EnvFrom:  secret %s (prefix %q)\n", ef.SecretRef.Name, ef.Prefix)
				}
			}
			for _, e := range c.Env {
				val := e.Value
				switch src := e.ValueFrom; {
				case src == nil:
				case src.FieldRef != nil:
					val = "(" + src.FieldRef.FieldPath + ")"
				case src.ConfigMapKeyRef != nil:
					val = fmt.Sprintf("(configmap %s key %s)", src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Key)
				case src.SecretKeyRef != nil:
					val = fmt.Sprintf("(secret %s key %s)", src.SecretKeyRef.Name, src.SecretKeyRef.Key)
				}
				fmt.Fprintf(w, "    Env:      %s=%s\n", e.Name, val)
			}
		}
	}
	fmt.Fprintln(w, "Events:")
	shown := 0
	for _, e := range events {
		if !aboutObject(e, v) {
			continue
		}
		if shown == 0 {
			fmt.Fprintf(w, "  %-20s %-8s %s\n", "Reason", "Age", "Message")
		}
		shown++
		fmt.Fprintf(w, "  %-20s %-8s %s\n", e.Reason, humanDuration(now.Sub(e.Time)), e.Message)
	}
	if shown == 0 {
		fmt.Fprintln(w, "  <none>")
	}
}

// aboutObject reports whether an event concerns the object (or, for a pod, names it).
func aboutObject(e reconcile.Event, v view) bool {
	k := manifest.Key{Kind: v.kind, Namespace: v.namespace, Name: v.name}
	return e.Object == reconcile.ObjectName(k) || (v.kind == "Pod" && strings.Contains(e.Message, v.name))
}

// describeService prints a Service's type, address, ports and the ready pods it sends
// traffic to.
func describeService(field func(k, val string), v view) {
	s := v.service
	field("Selector", orNone((&manifest.LabelSelector{MatchLabels: s.Selector}).String()))
	field("Type", s.Type)
	field("IP", orNone(s.ClusterIP))
	for _, p := range s.Ports {
		field("Port", fmt.Sprintf("%s %d/%s", orNone(p.Name), p.Port, p.Protocol))
		field("TargetPort", p.TargetPort.String()+"/"+p.Protocol)
		if p.NodePort != 0 {
			field("NodePort", fmt.Sprintf("%s %d/%s (127.0.0.1)", orNone(p.Name), p.NodePort, p.Protocol))
		}
	}
	field("Endpoints", orNone(strings.Join(v.endpoints, ",")))
}

// describeVolumes lists a pod spec's volumes and what each is made of (never a value).
func describeVolumes(w io.Writer, spec *manifest.PodSpec) {
	if len(spec.Volumes) == 0 {
		return
	}
	fmt.Fprintln(w, "Volumes:")
	for _, vol := range spec.Volumes {
		what := "(not mounted by kgit)"
		switch {
		case vol.ConfigMap != nil:
			what = "configmap " + vol.ConfigMap.Name
		case vol.Secret != nil:
			what = "secret " + vol.Secret.SecretName
		case vol.EmptyDir != nil:
			what = "emptyDir"
		case vol.PersistentVolumeClaim != nil:
			what = "claim " + vol.PersistentVolumeClaim.ClaimName
		case vol.HostPath != nil:
			what = "hostPath " + vol.HostPath.Path
		}
		fmt.Fprintf(w, "  %-22s%s\n", vol.Name+":", what)
	}
}
