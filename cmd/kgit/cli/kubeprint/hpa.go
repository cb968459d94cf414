package kubeprint

import (
	"fmt"
	"io"
	"time"
)

func init() {
	register(&Printer{Kind: "HorizontalPodAutoscaler", Columns: []Column{nameColumn,
		{Name: "REFERENCE", Cell: func(o Object, _ time.Time) string {
			return o.Str("spec", "scaleTargetRef", "kind") + "/" + o.Str("spec", "scaleTargetRef", "name")
		}},
		{Name: "TARGETS", Cell: func(o Object, _ time.Time) string { return hpaTargets(o) }},
		{Name: "MINPODS", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("spec", "minReplicas")) }},
		{Name: "MAXPODS", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("spec", "maxReplicas")) }},
		{Name: "REPLICAS", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("status", "currentReplicas")) }},
		ageColumn,
	}, Describe: describeHPA})
}

// hpaTargets is kubectl's TARGETS: each resource metric as CURRENT/TARGET, CURRENT
// <unknown> until measured (kgit measures CPU utilization only).
func hpaTargets(o Object) string {
	current := map[string]string{}
	for _, m := range o.List("status", "currentMetrics") {
		if c := m.Map("resource", "current"); c != nil && c.Get("averageUtilization") != nil {
			current[m.Str("resource", "name")] = fmt.Sprintf("%d%%", c.Int("averageUtilization"))
		}
	}
	cur := func(name string) string {
		if c, ok := current[name]; ok {
			return c
		}
		return "<unknown>"
	}
	s := ""
	for _, m := range o.List("spec", "metrics") {
		if s != "" {
			s += ", "
		}
		t := m.Map("resource", "target")
		name := m.Str("resource", "name")
		switch {
		case t != nil && t.Get("averageUtilization") != nil:
			s += fmt.Sprintf("%s: %s/%d%%", name, cur(name), t.Int("averageUtilization"))
		case t != nil:
			s += fmt.Sprintf("%s: <unknown>/%s", name, t.Str("averageValue"))
		default:
			s += "<unknown>"
		}
	}
	if p := o.Get("spec", "targetCPUUtilizationPercentage"); p != nil && s == "" {
		s = fmt.Sprintf("cpu: %s/%d%%", cur("cpu"), o.Int("spec", "targetCPUUtilizationPercentage"))
	}
	if s == "" && o.Get("spec", "metrics") == nil {
		s = fmt.Sprintf("cpu: %s/80%%", cur("cpu")) // Kubernetes' default metric
	}
	if s == "" {
		s = "<none>"
	}
	return s
}

func describeHPA(w io.Writer, o Object, _ []Object, _ time.Time) {
	field(w, "Reference", o.Str("spec", "scaleTargetRef", "kind")+"/"+o.Str("spec", "scaleTargetRef", "name"))
	field(w, "Metrics", hpaTargets(o))
	field(w, "Min replicas", fmt.Sprint(o.Int("spec", "minReplicas")))
	field(w, "Max replicas", fmt.Sprint(o.Int("spec", "maxReplicas")))
	field(w, "Deployment pods", fmt.Sprintf("%d current / %d desired", o.Int("status", "currentReplicas"), o.Int("status", "desiredReplicas")))
}
