package kubeprint

import (
	"fmt"
	"io"
	"time"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// revisionAnnotation numbers a Deployment's revision, on it and on its ReplicaSets.
const revisionAnnotation = "deployment.kubernetes.io/revision"

func init() {
	register(&Printer{Kind: "Deployment", Columns: append(append([]Column{nameColumn,
		{Name: "READY", Cell: func(o Object, _ time.Time) string {
			return fmt.Sprintf("%d/%d", o.Int("status", "readyReplicas"), o.Int("spec", "replicas"))
		}},
		{Name: "UP-TO-DATE", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("status", "updatedReplicas")) }},
		{Name: "AVAILABLE", Cell: func(o Object, _ time.Time) string { return fmt.Sprint(o.Int("status", "availableReplicas")) }},
		ageColumn,
	}, templateColumns()...), selectorColumn,
		// OVERRIDE is kgit's: shown when a Deployment is held by a rollback or a scale.
		Column{Name: "OVERRIDE", Cell: func(o Object, _ time.Time) string { return OrNone(override(o).String()) },
			Show: func(objs []Object, wide bool) bool {
				for _, o := range objs {
					wide = wide || override(o).Kind != ""
				}
				return wide
			}},
	), Describe: describeDeployment})
}

func override(o Object) reconcile.Override {
	return reconcile.OverrideOf(o.StrMap("metadata", "annotations"))
}

func describeDeployment(w io.Writer, o Object, related []Object, now time.Time) {
	var spec manifest.DeploymentSpec
	o.Decode(&spec, "spec")
	replicas, available := o.Int("status", "replicas"), o.Int("status", "availableReplicas")
	field(w, "Selector", spec.Selector.String())
	field(w, "Replicas", fmt.Sprintf("%d desired | %d updated | %d total | %d available | %d unavailable",
		o.Int("spec", "replicas"), o.Int("status", "updatedReplicas"), replicas, available, max(0, replicas-available)))
	field(w, "StrategyType", spec.Strategy.Type)
	field(w, "MinReadySeconds", fmt.Sprint(spec.MinReadySeconds))
	if ru := spec.Strategy.RollingUpdate; ru != nil {
		field(w, "RollingUpdateStrategy", fmt.Sprintf("%s max unavailable, %s max surge", ru.MaxUnavailable, ru.MaxSurge))
	}
	for _, c := range o.List("status", "conditions") {
		if c.Str("type") == "Progressing" {
			fmt.Fprintf(w, "Conditions:\n  Type          Status  Reason\n  ----          ------  ------\n  Progressing   %-7s %s\n", c.Str("status"), c.Str("reason"))
		}
	}
	// The new ReplicaSet is the one of the Deployment's revision, as kubectl finds it.
	if rev := o.Str("metadata", "annotations", revisionAnnotation); rev != "" {
		for _, rs := range related {
			if rs.Str("kind") == "ReplicaSet" && ownedBy(rs, o) && rs.Str("metadata", "annotations", revisionAnnotation) == rev {
				field(w, "NewReplicaSet", fmt.Sprintf("%s (%d/%d replicas created)", rs.Str("metadata", "name"), rs.Int("status", "replicas"), rs.Int("spec", "replicas")))
				field(w, "Revision", rev)
			}
		}
	}
	describeTemplate(w, o, "spec", "template", "spec")
}

// ownedBy reports whether an object's controller is owner.
func ownedBy(o, owner Object) bool {
	for _, ref := range o.List("metadata", "ownerReferences") {
		if ref.Str("kind") == owner.Str("kind") && ref.Str("name") == owner.Str("metadata", "name") {
			return true
		}
	}
	return false
}
