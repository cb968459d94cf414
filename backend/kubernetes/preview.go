package kubernetes

import "kgit.dev/kgit/reconcile"

var _ reconcile.Previewer = (*Target)(nil)

// Removal implements reconcile.Previewer: what pruning a would remove.
func (t *Target) Removal(live reconcile.Live, a *reconcile.Applied) map[string]any {
	return live.(*Live).Removal(a)
}
