// Package kubeprint shows Kubernetes-shaped objects as kubectl does: the columns of
// `get` (and `-o wide`) and the sections of `describe`, one file per kind. It reads
// nothing but the object (a map as `-o json` prints it, status included), so a target
// that returns real API objects can use it unchanged. A kind without a file of its own
// is shown as kubectl shows a custom resource.
package kubeprint

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Column is one column of a kind's table.
type Column struct {
	Name string
	Wide bool // only with -o wide
	Cell func(o Object, now time.Time) string
	// Show, when set, decides whether the column is shown at all, from every row.
	Show func(objs []Object, wide bool) bool
}

// Printer is how one kind is shown.
type Printer struct {
	Kind    string
	Columns []Column
	// Describe prints the kind's own sections of describe (after the metadata kubectl
	// prints for every object); related are the objects kubectl would read beside it
	// (a Deployment's ReplicaSets, a Service's Endpoints).
	Describe func(w io.Writer, o Object, related []Object, now time.Time)
}

var printers = map[string]*Printer{}

func register(p *Printer) { printers[p.Kind] = p }

// For returns the printer of a kind: its own, or the one of custom resources.
func For(kind string) *Printer {
	if p := printers[kind]; p != nil {
		return p
	}
	return generic
}

// generic shows any other kind as kubectl shows a custom resource: NAME and AGE, and
// describe prints its fields.
var generic = &Printer{Columns: []Column{nameColumn, ageColumn}, Describe: describeFields}

var (
	nameColumn = Column{Name: "NAME", Cell: func(o Object, _ time.Time) string { return o.Str("metadata", "name") }}
	ageColumn  = Column{Name: "AGE", Cell: func(o Object, now time.Time) string { return Age(o, now) }}
)

// Table prints objs of one kind as kubectl's table, through a tabwriter set as
// kubectl's.
func Table(w io.Writer, kind string, objs []Object, wide bool, now time.Time) error {
	return Print(w, kind, objs, Options{Wide: wide}, now)
}

// Options are kubectl's options of a table.
type Options struct {
	Wide      bool
	NoHeaders bool
	// Extra are columns after the kind's own (-L, --show-labels).
	Extra []Column
	// Lead are columns before the kind's own (NAMESPACE with -A, EVENT with
	// --output-watch-events).
	Lead []Column
	// Name, when set, replaces the kind's NAME column (KIND/NAME when kubectl prints
	// several kinds).
	Name *Column
	// Custom, when set, are the only columns after Lead (-o custom-columns).
	Custom []Column
}

// Print prints objs of one kind as kubectl's table, with opts.
func Print(w io.Writer, kind string, objs []Object, opts Options, now time.Time) error {
	wide := opts.Wide
	cols := append([]Column(nil), opts.Lead...)
	for _, c := range For(kind).Columns {
		if opts.Custom != nil {
			break
		}
		if c.Show != nil && !c.Show(objs, wide) || c.Show == nil && c.Wide && !wide {
			continue
		}
		if c.Name == "NAME" && opts.Name != nil {
			c = *opts.Name
		}
		cols = append(cols, c)
	}
	if opts.Custom != nil {
		cols = append(cols, opts.Custom...)
	} else {
		cols = append(cols, opts.Extra...)
	}
	tw := tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
	cells := make([]string, len(cols))
	for i, c := range cols {
		cells[i] = c.Name
	}
	if !opts.NoHeaders {
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	for _, o := range objs {
		for i, c := range cols {
			cells[i] = c.Cell(o, now)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// Describe prints the kind's own sections of describe for o.
func Describe(w io.Writer, kind string, o Object, related []Object, now time.Time) {
	if d := For(kind).Describe; d != nil {
		d(w, o, related, now)
	}
}

// Age is kubectl's AGE of an object, from its creationTimestamp.
func Age(o Object, now time.Time) string {
	return HumanDuration(now.Sub(o.Time("metadata", "creationTimestamp")))
}

// HumanDuration is kubectl's AGE (duration.HumanDuration).
func HumanDuration(d time.Duration) string {
	if d < -2*time.Second {
		return "<invalid>"
	}
	if d < 0 {
		d = 0
	}
	s := int(d.Seconds())
	switch {
	case s < 120:
		return fmt.Sprintf("%ds", s)
	case d < 10*time.Minute:
		if s%60 == 0 {
			return fmt.Sprintf("%dm", s/60)
		}
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case d < 3*time.Hour:
		return fmt.Sprintf("%dm", s/60)
	case d < 8*time.Hour:
		if h, m := s/3600, (s%3600)/60; m != 0 {
			return fmt.Sprintf("%dh%dm", h, m)
		}
		return fmt.Sprintf("%dh", s/3600)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", s/3600)
	case d < 8*24*time.Hour:
		if h := (s % 86400) / 3600; h != 0 {
			return fmt.Sprintf("%dd%dh", s/86400, h)
		}
		return fmt.Sprintf("%dd", s/86400)
	case d < 2*365*24*time.Hour:
		return fmt.Sprintf("%dd", s/86400)
	case d < 8*365*24*time.Hour:
		y := s / (365 * 86400)
		if dd := (s % (365 * 86400)) / 86400; dd != 0 {
			return fmt.Sprintf("%dy%dd", y, dd)
		}
		return fmt.Sprintf("%dy", y)
	}
	return fmt.Sprintf("%dy", s/(365*86400))
}

// OrNone is kubectl's <none> for an empty cell.
func OrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
