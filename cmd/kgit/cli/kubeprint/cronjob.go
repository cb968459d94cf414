package kubeprint

import (
	"fmt"
	"io"
	"strings"
	"time"
)

func init() {
	register(&Printer{Kind: "CronJob", Columns: []Column{nameColumn,
		{Name: "SCHEDULE", Cell: func(o Object, _ time.Time) string { return o.Str("spec", "schedule") }},
		{Name: "TIMEZONE", Cell: func(o Object, _ time.Time) string { return orNone(o.Str("spec", "timeZone")) }},
		{Name: "SUSPEND", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Bool("spec", "suspend")) }},
		{Name: "ACTIVE", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(len(o.List("status", "active"))) }},
		{Name: "LAST SCHEDULE", Cell: func(o Object, now time.Time) string { return since(o.Time("status", "lastScheduleTime"), now) }},
		ageColumn,
		{Name: "CONTAINERS", Wide: true, Cell: func(o Object, _ time.Time) string { return cronContainers(o)[0] }},
		{Name: "IMAGES", Wide: true, Cell: func(o Object, _ time.Time) string { return cronContainers(o)[1] }},
		{Name: "SELECTOR", Wide: true, Cell: func(o Object, _ time.Time) string { return "<none>" }},
	}, Describe: describeCronJob})
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// since is kubectl's age of a time, <none> when unset.
func since(t, now time.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	return HumanDuration(now.Sub(t))
}

func cronContainers(o Object) [2]string {
	return containersImages(o, "spec", "jobTemplate", "spec", "template", "spec")
}

func describeCronJob(w io.Writer, o Object, _ []Object, now time.Time) {
	field(w, "Schedule", o.Str("spec", "schedule"))
	field(w, "Time Zone", orNone(o.Str("spec", "timeZone")))
	field(w, "Concurrency Policy", o.Str("spec", "concurrencyPolicy"))
	field(w, "Suspend", fmt.Sprint(o.Bool("spec", "suspend")))
	// longer than field's column, as kubectl prints them: two spaces after the colon
	fmt.Fprintf(w, "Successful Job History Limit:  %d\n", o.Int("spec", "successfulJobsHistoryLimit"))
	fmt.Fprintf(w, "Failed Job History Limit:  %d\n", o.Int("spec", "failedJobsHistoryLimit"))
	deadline := "<unset>"
	if o.Get("spec", "startingDeadlineSeconds") != nil {
		deadline = fmt.Sprintf("%ds", o.Int("spec", "startingDeadlineSeconds"))
	}
	fmt.Fprintf(w, "Starting Deadline Seconds:  %s\n", deadline)
	describeTemplate(w, o, "spec", "jobTemplate", "spec", "template", "spec")
	if t := o.Time("status", "lastScheduleTime"); !t.IsZero() {
		field(w, "Last Schedule Time", t.Format(time.RFC1123Z))
	} else {
		field(w, "Last Schedule Time", "<unset>")
	}
	var active []string
	for _, a := range o.List("status", "active") {
		active = append(active, a.Str("name"))
	}
	field(w, "Active Jobs", orNone(strings.Join(active, ", ")))
}
