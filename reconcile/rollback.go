package reconcile

import (
	"context"
	"fmt"

	"kgit.dev/kgit/manifest"
)

// RollbackToLastComplete rolls each named Deployment back to the template of its last
// ReplicaSet that was fully available, with the normal rolling update, as an override:
// the next sync of the same commit does not retry it. It returns one line per Deployment.
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
		if err := r.RollbackTo(ctx, st, k, &rolled, a.Commit, target.Commit, target.Commit); err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("Rolled back deployment %q to revision %d (commit %.12s)", d.Name, target.Revision(), target.Commit)
		r.event(ObjectName(k), "DeploymentRollback", "%s", msg)
		done = append(done, msg)
	}
	return done, nil
}
