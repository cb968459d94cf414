package reconcile

import (
	"context"
	"fmt"

	"kgit.dev/kgit/manifest"
)

// RolledBackAnnotation marks a Deployment whose live template is not git's: it names
// the commit whose template was rolled back from.
const RolledBackAnnotation = "kgit.dev/rolled-back-from"

// RollbackToLastComplete rolls each named Deployment back to the template of its last
// ReplicaSet that was fully available, with the normal rolling update. It returns one
// line per Deployment saying what it did.
func (r *Reconciler) RollbackToLastComplete(ctx context.Context, keys []manifest.Key) ([]string, error) {
	st, err := Load(ctx, r.Backend, r.App)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, k := range keys {
		a := st.Applied[k]
		if a == nil {
			continue
		}
		d := a.Object.(*manifest.Deployment)
		var target *RS
		for _, rs := range st.Owned(k) {
			if rs.RS.Spec.Template.Labels[HashLabel] == a.Progress.LastCompleteHash {
				target = rs
			}
		}
		if target == nil || equalIgnoreHash(&target.RS.Spec.Template, &d.Spec.Template) {
			done = append(done, fmt.Sprintf("deployment %q: no earlier revision was fully available: nothing to roll back to", d.Name))
			continue
		}
		rolled := *d
		rolled.Spec.Template = *stripHash(&target.RS.Spec.Template)
		rolled.Annotations = cloneWith(d.Annotations, RolledBackAnnotation, a.Commit)
		rec, err := r.record("Deployment", &rolled.ObjectMeta, &rolled, target.Commit, nil, a.Created)
		if err != nil {
			return nil, err
		}
		rec.Status = a.record.Status
		if err := r.Backend.PutRecord(ctx, rec); err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("Rolled back deployment %q to revision %d (commit %.12s)", d.Name, target.Revision(), target.Commit)
		r.event(ObjectName(k), "DeploymentRollback", "%s", msg)
		done = append(done, msg)
	}
	return done, nil
}
