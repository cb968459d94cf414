package controller

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// routeServices has the backend route each of the app's Services. Routing is
// idempotent, so every sync also restarts a Service proxy that stopped.
func (r *Local) routeServices(ctx context.Context, st *State) error {
	router, ok := backend.RouterOf(r.Backend)
	if !ok {
		return nil
	}
	for _, a := range sortedApplied(st) {
		svc, ok := a.Object.(*manifest.Service)
		if !ok || svc.Spec.ClusterIP == "None" { // headless: no address (and kgit has no DNS)
			continue
		}
		labels := map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: r.App, backend.LabelNamespace: svc.Namespace}
		rt, err := router.Route(ctx, backend.Service{Name: svc.Name, Namespace: svc.Namespace, Labels: labels, Spec: svc.Spec})
		if err != nil {
			return fmt.Errorf("%s: %w", reconcile.ObjectName(a.Key), err)
		}
		if rt.Pending != "" {
			// as a cloud's service controller says it: the Service is up, its load
			// balancer is not (get shows <pending>)
			r.event(reconcile.ObjectName(a.Key), "SyncLoadBalancerFailed", "Error syncing load balancer: %s: the Service answers on its cluster address and node ports only", rt.Pending)
		}
	}
	// A route whose Service is no longer applied (a crash between the two steps of a
	// prune) goes too.
	routes, err := router.Routes(ctx, map[string]string{backend.LabelApp: r.App})
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if st.Objects[manifest.Key{Kind: "Service", Namespace: rt.Namespace, Name: rt.Name}] == nil {
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
func (r *Local) unroute(ctx context.Context, k manifest.Key) error {
	if router, ok := backend.RouterOf(r.Backend); ok && k.Kind == "Service" {
		return router.Unroute(ctx, k.Namespace, k.Name)
	}
	return nil
}

// serviceLinks returns the variables a new pod of namespace ns gets for the Services
// of its namespace (of every app), unless its spec sets enableServiceLinks: false, and
// the names of every Service (of its namespace, and NAME.NAMESPACE of the others) with
// their addresses, for the pod's hosts file: kgit has no cluster DNS.
func (r *Local) serviceLinks(ctx context.Context, ns string, spec *manifest.PodSpec) ([]manifest.EnvVar, map[string]string, error) {
	router, ok := backend.RouterOf(r.Backend)
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
		addr := rt.ClusterIP
		if rt.Spec.Type == manifest.ServiceExternalName {
			addr = r.externalAddress(ctx, rt.Spec.ExternalName)
		}
		if addr == "" {
			continue // the backend could give it no address (only node ports)
		}
		full := rt.Name + "." + rt.Namespace
		for _, name := range []string{full, full + ".svc", full + ".svc.cluster.local"} {
			hosts[name] = addr
		}
		if rt.Namespace != ns {
			continue
		}
		hosts[rt.Name] = addr
		if rt.Spec.Type == manifest.ServiceExternalName {
			continue // Kubernetes gives an ExternalName Service no variables
		}
		if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
			env = append(env, manifest.ServiceLinks(rt.Name, rt.ClusterIP, rt.Spec.Ports)...)
		}
	}
	if len(hosts) == 0 {
		hosts = nil
	}
	return env, hosts, nil
}

// externalAddress is what an ExternalName Service's name stands for in a pod's hosts
// file, which can hold no CNAME: the address of the kgit Service the external name
// names (web.shop.svc.cluster.local), else what the host resolves it to now (IPv4
// first); "" when it does not resolve. A pod sees the address as of its creation.
func (r *Local) externalAddress(ctx context.Context, name string) string {
	name = strings.TrimSuffix(name, ".")
	for _, rt := range r.routes {
		full := rt.Name + "." + rt.Namespace
		if rt.ClusterIP != "" && (name == full || name == full+".svc" || name == full+".svc.cluster.local") {
			return rt.ClusterIP
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil || len(addrs) == 0 {
		return ""
	}
	sort.SliceStable(addrs, func(i, j int) bool { return addrs[i].Unmap().Is4() && !addrs[j].Unmap().Is4() })
	return addrs[0].Unmap().String()
}
