package kubeprint

import (
	"fmt"
	"io"
	"time"

	"kgit.dev/kgit/backend"
)

func init() {
	register(&Printer{Kind: "ReplicaSet", Columns: append(append([]Column{nameColumn,
		{Name: "DESIRED", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("spec", "replicas")) }},
		{Name: "CURRENT", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("status", "replicas")) }},
		{Name: "READY", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("status", "readyReplicas")) }},
		ageColumn,
	}, templateColumns()...), selectorColumn), Describe: describeReplicaSet})
}

func describeReplicaSet(w io.Writer, o Object, _ []Object, _ time.Time) {
	field(w, "Selector", selector(o).String())
	for _, ref := range o.List("metadata", "ownerReferences") {
		field(w, "Controlled By", ref.Str("kind")+"/"+ref.Str("name"))
	}
	field(w, "Replicas", fmt.Sprintf("%d current / %d desired", o.Int("status", "replicas"), o.Int("spec", "replicas")))
	field(w, "Pods Status", fmt.Sprintf("%d Ready / %d Available", o.Int("status", "readyReplicas"), o.Int("status", "availableReplicas")))
	field(w, "Commit", o.Str("metadata", "labels", backend.LabelCommit))
	describeTemplate(w, o, "spec", "template", "spec")
}
