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
	r.routes = nil // the Services may have changed: read them again for new pods
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
// of its namespace (of every app), unless its spec sets enableServiceLinks: false, and
// the names of every Service (of its namespace, and NAME.NAMESPACE of the others) with
// their addresses, for the pod's hosts file: kgit has no cluster DNS.
func (r *Reconciler) serviceLinks(ctx context.Context, ns string, spec *manifest.PodSpec) ([]manifest.EnvVar, map[string]string, error) {
	router, ok := r.Backend.(backend.Router)
	if !ok {
		return nil, nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.routes == nil {
		routes, err := router.Routes(ctx, nil)
		if err != nil {
			return nil, nil, err
		}
		sort.Slice(routes, func(i, j int) bool { return routes[i].Name < routes[j].Name })
		r.routes = routes
	}
	var env []manifest.EnvVar
	hosts := map[string]string{}
	for _, rt := range r.routes {
		if rt.ClusterIP == "" {
			continue // the backend could give it no address (only node ports)
		}
		full := rt.Name + "." + rt.Namespace
		for _, name := range []string{full, full + ".svc", full + ".svc.cluster.local"} {
			hosts[name] = rt.ClusterIP
		}
		if rt.Namespace != ns {
			continue
		}
		hosts[rt.Name] = rt.ClusterIP
		if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
			env = append(env, manifest.ServiceLinks(rt.Name, rt.ClusterIP, rt.Spec.Ports)...)
		}
	}
	if len(hosts) == 0 {
		hosts = nil
	}
	return env, hosts, nil
}
