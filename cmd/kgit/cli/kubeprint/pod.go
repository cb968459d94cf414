package kubeprint

import (
	"fmt"
	"io"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
)

func init() {
	register(&Printer{Kind: "Pod", Columns: []Column{nameColumn,
		{Name: "READY", Cell: func(o Object, _ time.Time) string {
			ready := 0
			for _, c := range o.List("status", "containerStatuses") {
				if c.Bool("ready") {
					ready++
				}
			}
			return fmt.Sprintf("%d/%d", ready, len(o.List("spec", "containers")))
		}},
		{Name: "STATUS", Cell: func(o Object, _ time.Time) string { return PodStatus(o) }},
		{Name: "RESTARTS", Cell: podRestarts},
		ageColumn,
		{Name: "IP", Wide: true, Cell: func(o Object, _ time.Time) string { return OrNone(o.Str("status", "podIP")) }},
		{Name: "NODE", Wide: true, Cell: func(o Object, _ time.Time) string { return OrNone(o.Str("spec", "nodeName")) }},
		// APP is kgit's: the app whose pod it is.
		{Name: "APP", Wide: true, Cell: func(o Object, _ time.Time) string { return o.Str("metadata", "labels", backend.LabelApp) }},
	}, Describe: describePod})
}

// PodStatus is kubectl's STATUS column: the pod's reason or phase, overridden by the
// last container's waiting or terminated reason, and by Terminating once it is being
// deleted.
func PodStatus(o Object) string {
	phase := o.Str("status", "phase")
	s := phase
	if r := o.Str("status", "reason"); r != "" {
		s = r
	}
	if r, initializing := initStatus(o); initializing {
		return r
	}
	for _, c := range o.List("status", "containerStatuses") {
		waiting, terminated := c.Map("state", "waiting"), c.Map("state", "terminated")
		switch {
		case waiting != nil && waiting.Str("reason") != "":
			s = waiting.Str("reason")
		case terminated != nil && terminated.Str("reason") != "":
			s = terminated.Str("reason")
		case terminated != nil:
			s = fmt.Sprintf("ExitCode:%d", terminated.Int("exitCode"))
		}
	}
	if s == "Completed" && phase == backend.PodRunning {
		s = "Running"
	}
	if o.Str("metadata", "deletionTimestamp") != "" {
		s = "Terminating"
		if o.Str("status", "reason") == "NodeLost" {
			s = "Unknown"
		}
	}
	return s
}

// initStatus is kubectl's STATUS of a pod whose init containers have not all finished
// (a started sidecar counts as finished): Init:N/M, or Init: and the reason.
func initStatus(o Object) (string, bool) {
	specs := o.List("spec", "initContainers")
	for i, c := range o.List("status", "initContainerStatuses") {
		sidecar := i < len(specs) && specs[i].Str("restartPolicy") == "Always"
		waiting, terminated := c.Map("state", "waiting"), c.Map("state", "terminated")
		switch {
		case terminated != nil && terminated.Int("exitCode") == 0:
			continue
		case sidecar && c.Bool("started"):
			continue
		case terminated != nil && terminated.Str("reason") == "":
			return fmt.Sprintf("Init:ExitCode:%d", terminated.Int("exitCode")), true
		case terminated != nil:
			return "Init:" + terminated.Str("reason"), true
		case waiting != nil && waiting.Str("reason") != "" && waiting.Str("reason") != "PodInitializing":
			return "Init:" + waiting.Str("reason"), true
		}
		return fmt.Sprintf("Init:%d/%d", i, len(specs)), true
	}
	return "", false
}

// podRestarts is kubectl's RESTARTS: the containers' restarts, and how long ago the
// last one ended.
func podRestarts(o Object, now time.Time) string {
	var restarts int64
	var lastExit time.Time
	for _, c := range append(o.List("status", "initContainerStatuses"), o.List("status", "containerStatuses")...) {
		restarts += c.Int("restartCount")
		if t := c.Time("lastState", "terminated", "finishedAt"); t.After(lastExit) {
			lastExit = t
		}
	}
	r := fmt.Sprint(restarts)
	if restarts > 0 && !lastExit.IsZero() {
		r += " (" + HumanDuration(now.Sub(lastExit)) + " ago)"
	}
	return r
}

func describePod(w io.Writer, o Object, _ []Object, _ time.Time) {
	field(w, "Status", PodStatus(o))
	field(w, "IP", OrNone(o.Str("status", "podIP")))
	if t := o.Time("status", "startTime"); !t.IsZero() {
		field(w, "Start Time", t.UTC().Format(time.RFC1123Z))
	}
	ready := false
	for _, c := range o.List("status", "conditions") {
		if c.Str("type") == "Ready" {
			ready = c.Str("status") == "True"
		}
	}
	field(w, "Ready", fmt.Sprint(ready))
	fmt.Fprintln(w, "Containers:")
	for _, c := range o.List("status", "containerStatuses") {
		fmt.Fprintf(w, "  %s:\n", c.Str("name"))
		state, detail := "unknown", Object(nil)
		for _, s := range []string{"running", "waiting", "terminated"} {
			if d := c.Map("state", s); d != nil {
				state, detail = s, d
			}
		}
		fmt.Fprintf(w, "    State:          %s", strings.ToUpper(state[:1])+state[1:])
		if r := detail.Str("reason"); r != "" {
			fmt.Fprintf(w, " (%s)", r)
		}
		fmt.Fprintln(w)
		if t := c.Map("lastState", "terminated"); t != nil {
			fmt.Fprintf(w, "    Last Exit Code: %d (%s at %s)\n", t.Int("exitCode"), t.Str("reason"), t.Time("finishedAt").UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(w, "    Restart Count:  %d\n", c.Int("restartCount"))
		if m := detail.Str("message"); m != "" {
			fmt.Fprintf(w, "    Message:        %s\n", m)
		}
	}
	describeTemplate(w, o, "spec")
}
