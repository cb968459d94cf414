package kubeprint

import (
	"fmt"
	"io"
	"time"
)

func init() {
	register(&Printer{Kind: "Job", Columns: append([]Column{nameColumn,
		{Name: "STATUS", Cell: func(o Object, _ time.Time) string { return jobStatus(o) }},
		{Name: "COMPLETIONS", Cell: func(o Object, _ time.Time) string { return jobCompletions(o) }},
		{Name: "DURATION", Cell: func(o Object, now time.Time) string { return jobDuration(o, now) }},
		ageColumn,
	}, append(templateColumns(), selectorColumn)...), Describe: describeJob})
}

// jobStatus is kubectl's STATUS of a Job: the condition that holds, else Running.
func jobStatus(o Object) string {
	for _, c := range o.List("status", "conditions") {
		if c.Str("status") == "True" {
			switch c.Str("type") {
			case "Complete", "Failed", "Suspended":
				return c.Str("type")
			}
		}
	}
	return "Running"
}

// jobCompletions is kubectl's COMPLETIONS: succeeded/completions, or for a work queue
// (no completions) succeeded/1 of parallelism.
func jobCompletions(o Object) string {
	if o.Get("spec", "completions") != nil {
		return fmt.Sprintf("%d/%d", o.Int("status", "succeeded"), o.Int("spec", "completions"))
	}
	if p := o.Int("spec", "parallelism"); p > 1 {
		return fmt.Sprintf("%d/1 of %d", o.Int("status", "succeeded"), p)
	}
	return fmt.Sprintf("%d/1", o.Int("status", "succeeded"))
}

// jobDuration is kubectl's DURATION: from the start to the completion, or to now.
func jobDuration(o Object, now time.Time) string {
	start := o.Time("status", "startTime")
	if start.IsZero() {
		return ""
	}
	end := o.Time("status", "completionTime")
	if end.IsZero() {
		end = now
	}
	return HumanDuration(end.Sub(start))
}

func describeJob(w io.Writer, o Object, _ []Object, _ time.Time) {
	field(w, "Parallelism", fmt.Sprint(o.Int("spec", "parallelism")))
	if o.Get("spec", "completions") != nil {
		field(w, "Completions", fmt.Sprint(o.Int("spec", "completions")))
	} else {
		field(w, "Completions", "<unset>")
	}
	field(w, "Completion Mode", o.Str("spec", "completionMode"))
	field(w, "Suspend", fmt.Sprint(o.Bool("spec", "suspend")))
	field(w, "Backoff Limit", fmt.Sprint(o.Int("spec", "backoffLimit")))
	if t := o.Time("status", "startTime"); !t.IsZero() {
		field(w, "Start Time", t.Format(time.RFC1123Z))
	}
	if t := o.Time("status", "completionTime"); !t.IsZero() {
		field(w, "Completed At", t.Format(time.RFC1123Z))
	}
	if o.Get("spec", "activeDeadlineSeconds") != nil {
		field(w, "Active Deadline Seconds", fmt.Sprintf("%ds", o.Int("spec", "activeDeadlineSeconds")))
	}
	field(w, "Pods Statuses", fmt.Sprintf("%d Active / %d Succeeded / %d Failed", o.Int("status", "active"), o.Int("status", "succeeded"), o.Int("status", "failed")))
	for _, c := range o.List("status", "conditions") {
		if c.Str("type") == "Failed" {
			field(w, "Failed", c.Str("reason")+": "+c.Str("message"))
		}
	}
	describeTemplate(w, o, "spec", "template", "spec")
}
