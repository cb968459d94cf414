package kubeprint

import (
	"fmt"
	"io"
	"time"
)

func init() {
	count := func(name, field string) Column {
		return Column{Name: name, Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("status", field)) }}
	}
	register(&Printer{Kind: "DaemonSet", Columns: append([]Column{nameColumn,
		count("DESIRED", "desiredNumberScheduled"), count("CURRENT", "currentNumberScheduled"), count("READY", "numberReady"),
		count("UP-TO-DATE", "updatedNumberScheduled"), count("AVAILABLE", "numberAvailable"), ageColumn,
	}, templateColumns()...), Describe: describeDaemonSet})
}

func describeDaemonSet(w io.Writer, o Object, _ []Object, _ time.Time) {
	field(w, "Selector", selector(o).String())
	field(w, "Pods", fmt.Sprintf("%d desired | %d current | %d ready | %d updated | %d available", o.Int("status", "desiredNumberScheduled"),
		o.Int("status", "currentNumberScheduled"), o.Int("status", "numberReady"), o.Int("status", "updatedNumberScheduled"), o.Int("status", "numberAvailable")))
	field(w, "Update Strategy", o.Str("spec", "updateStrategy", "type"))
	describeTemplate(w, o, "spec", "template", "spec")
}
