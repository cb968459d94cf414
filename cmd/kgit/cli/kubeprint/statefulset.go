package kubeprint

import (
	"fmt"
	"io"
	"time"

	"kgit.dev/kgit/manifest"
)

func init() {
	register(&Printer{Kind: "StatefulSet", Columns: append([]Column{nameColumn,
		{Name: "READY", Cell: func(o Object, _ time.Time) string {
			return fmt.Sprintf("%d/%d", o.Int("status", "readyReplicas"), o.Int("spec", "replicas"))
		}},
		ageColumn,
	}, templateColumns()...), Describe: describeStatefulSet})
}

func describeStatefulSet(w io.Writer, o Object, _ []Object, _ time.Time) {
	var spec manifest.StatefulSetSpec
	o.Decode(&spec, "spec")
	name := o.Str("metadata", "name")
	field(w, "Selector", spec.Selector.String())
	field(w, "Replicas", fmt.Sprintf("%d desired | %d total", o.Int("spec", "replicas"), o.Int("status", "replicas")))
	field(w, "Pods Status", fmt.Sprintf("%d Ready / %d Available", o.Int("status", "readyReplicas"), o.Int("status", "availableReplicas")))
	field(w, "Pod Management Policy", spec.PodManagementPolicy)
	strategy := spec.UpdateStrategy.Type
	if ru := spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		strategy += fmt.Sprintf(" (partition %d)", *ru.Partition)
	}
	field(w, "Update Strategy", strategy)
	for _, c := range spec.VolumeClaimTemplates {
		field(w, "Volume Claim", fmt.Sprintf("%s (one per pod: %s)", c.Name, manifest.ClaimName(c.Name, name, 0)+", ..."))
	}
	describeTemplate(w, o, "spec", "template", "spec")
}
