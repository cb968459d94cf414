package reconcile

import (
	"context"
	"fmt"
	"sort"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// routeServices has the backend route each of the app's Services. Routing is
// idempotent, so every sync also restarts a Service proxy that stopped.
func (r *Reconciler) routeServices(ctx context.Context, st *State) error {
	router, ok := r.Backend.(backend.Router)
	if !ok {
		return nil
	}
	for _, a := range sortedApplied(st) {
		svc, ok := a.Object.(*manifest.Service)
		if !ok || svc.Spec.ClusterIP == "None" { // headless: no address (and kgit has no DNS)
			continue
		}
		labels := map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: r.App, backend.LabelNamespace: svc.Namespace}
		if _, err := router.Route(ctx, backend.Service{Name: svc.Name, Namespace: svc.Namespace, Labels: labels, Spec: svc.Spec}); err != nil {
			return fmt.Errorf("%s: %w", ObjectName(a.Key), err)
		}
	}
	// A route whose Service is no longer applied (a crash between the two steps of a
	// prune) goes too.
	routes, err := router.Routes(ctx, map[string]string{backend.LabelApp: r.App})
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if st.Applied[manifest.Key{Kind: "Service", Namespace: rt.Namespace, Name: rt.Name}] == nil {
			if err := router.Unroute(ctx, rt.Namespace, rt.Name); err != nil {
				return err
			}
		}
	}
	r.mu.Lock()
	r.links = nil // the Services may have changed: recompute the pods' variables
	r.mu.Unlock()
	return nil
}

// unroute removes a Service's route, if the backend routes Services.
func (r *Reconciler) unroute(ctx context.Context, k manifest.Key) error {
	if router, ok := r.Backend.(backend.Router); ok && k.Kind == "Service" {
		return router.Unroute(ctx, k.Namespace, k.Name)
	}
	return nil
}

// serviceLinks returns the variables a new pod of namespace ns gets for the Services
// of its namespace (of every app), unless its spec sets enableServiceLinks: false.
func (r *Reconciler) serviceLinks(ctx context.Context, ns string, spec *manifest.PodSpec) ([]manifest.EnvVar, error) {
	router, ok := r.Backend.(backend.Router)
	if !ok || spec.EnableServiceLinks != nil && !*spec.EnableServiceLinks {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.links == nil {
		routes, err := router.Routes(ctx, nil)
		if err != nil {
			return nil, err
		}
		sort.Slice(routes, func(i, j int) bool { return routes[i].Name < routes[j].Name })
		r.links = map[string][]manifest.EnvVar{}
		for _, rt := range routes {
			r.links[rt.Namespace] = append(r.links[rt.Namespace], manifest.ServiceLinks(rt.Name, rt.ClusterIP, rt.Spec.Ports)...)
		}
	}
	return r.links[ns], nil
}
