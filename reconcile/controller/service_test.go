package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/memory"
	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/manifest"
)

// parse reads manifests written as one YAML stream.
func parse(t *testing.T, y string) []*manifest.Object {
	t.Helper()
	objs, err := manifest.Parse([]manifest.File{{Path: "app.yaml", Data: []byte(y)}})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// webApp is a Service in front of a Deployment whose pods name their port, beside a
// worker in the same namespace and a web Deployment in another: neither is the
// Service's.
func webApp(t *testing.T, replicas int, image string, svcPort int) []*manifest.Object {
	return parse(t, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: %d, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: %q, command: [serve], ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  replicas: 1
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers: [{name: c, image: worker, command: [work], ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: elsewhere}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: %q, command: [serve], ports: [{name: http, containerPort: 8080}]}]
`, svcPort, replicas, image, image))
}

// route returns the backend's route of the app's Service name ("" namespace: default),
// nil if there is none.
func route(t *testing.T, b backend.Backend, app, name string) *backend.Service {
	t.Helper()
	router, ok := backend.RouterOf(b)
	if !ok {
		t.Fatal("the backend does not route Services")
	}
	routes, err := router.Routes(context.Background(), map[string]string{backend.LabelApp: app})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range routes {
		if rt.Namespace == "default" && rt.Name == name {
			return rt
		}
	}
	return nil
}

// endpoints is where the route sends traffic, by service port, as every backend's
// Service proxy finds it (backend/process's and backend/docker's endpoints): the pods
// its selector picks in its namespace that are ready and not terminating, each at the
// container port its targetPort names.
func endpoints(t *testing.T, b backend.Backend, rt *backend.Service) map[int32][]string {
	t.Helper()
	pods, err := b.ListPods(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	eps := map[int32][]string{}
	for _, p := range pods {
		if proxy.Selects(rt, p.Namespace, p.Labels) && (p.Status.Ready || rt.Spec.PublishNotReadyAddresses && p.Status.Phase == backend.PodRunning) && !p.Status.Terminating {
			proxy.Add(eps, rt, &p.Spec, p.Status.PodIP)
		}
	}
	for _, list := range eps {
		sort.Strings(list)
	}
	return eps
}

// addresses are the pods' addresses at port, sorted; only pods for which keep is true.
func addresses(t *testing.T, b backend.Backend, port int, keep func(*backend.Pod) bool) []string {
	t.Helper()
	pods, err := b.ListPods(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods {
		if keep(p) {
			out = append(out, fmt.Sprintf("%s:%d", p.Status.PodIP, port))
		}
	}
	sort.Strings(out)
	return out
}

func webPod(image string) func(*backend.Pod) bool {
	return func(p *backend.Pod) bool {
		return p.Namespace == "default" && p.Labels["app"] == "web" && (image == "" || p.Spec.Containers[0].Image == image)
	}
}

// TestServiceRoutesReadyPods: a sync routes each Service with its selector and ports, so
// that it sends traffic to the ready pods of its namespace that it selects, at the port
// its targetPort names, and to no other; routing again keeps its address, a change in
// git changes the route, and a Service that leaves git leaves no route.
func TestServiceRoutesReadyPods(t *testing.T) {
	b := memory.New()
	r := newLocal(b, "shop")
	syncOK(t, r, webApp(t, 3, "web:v1", 80)...)
	rt := route(t, b, "shop", "web")
	if rt == nil || rt.ClusterIP == "" {
		t.Fatalf("the Service web has no route with an address: %+v", rt)
	}
	if !maps.Equal(rt.Spec.Selector, map[string]string{"app": "web"}) || rt.Labels[backend.LabelNamespace] != "default" {
		t.Errorf("route %+v, want the Service's selector app=web in namespace default", rt)
	}
	want := addresses(t, b, 8080, webPod(""))
	if len(want) != 3 {
		t.Fatalf("%d web pods in default, want 3", len(want))
	}
	if got := endpoints(t, b, rt); !slices.Equal(got[80], want) || len(got) != 1 {
		t.Errorf("endpoints %v, want port 80 to the three web pods of default at 8080: %v", got, want)
	}

	// a pod that is not ready, or terminating, gets no traffic
	pods, _ := b.ListPods(context.Background(), map[string]string{"app": "web", backend.LabelNamespace: "default"})
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	b.SetStatus(pods[0].ID, func(s *backend.PodStatus) { s.Ready = false })
	b.SetStatus(pods[1].ID, func(s *backend.PodStatus) { s.Terminating = true })
	if got, want := endpoints(t, b, rt)[80], []string{pods[2].Status.PodIP + ":8080"}; !slices.Equal(got, want) {
		t.Errorf("with one pod not ready and one terminating, endpoints %v, want only %v", got, want)
	}
	b.SetStatus(pods[0].ID, func(s *backend.PodStatus) { s.Ready = true })
	b.SetStatus(pods[1].ID, func(s *backend.PodStatus) { s.Terminating = false })

	// the Service's port changes in git: the same address, the new port
	syncOK(t, r, webApp(t, 3, "web:v1", 8081)...)
	again := route(t, b, "shop", "web")
	if again == nil || again.ClusterIP != rt.ClusterIP || len(again.Spec.Ports) != 1 || again.Spec.Ports[0].Port != 8081 {
		t.Fatalf("after the port changed in git, route %+v, want port 8081 at %s", again, rt.ClusterIP)
	}
	if got := endpoints(t, b, again); !slices.Equal(got[8081], want) || len(got) != 1 {
		t.Errorf("endpoints %v, want port 8081 to %v", got, want)
	}

	// the Service leaves git: its route goes
	var rest []*manifest.Object
	for _, o := range webApp(t, 3, "web:v1", 8081) {
		if o.Key().Kind != "Service" {
			rest = append(rest, o)
		}
	}
	syncOK(t, r, rest...)
	if rt := route(t, b, "shop", "web"); rt != nil {
		t.Errorf("the Service left git and its route is still there: %+v", rt)
	}
}

// TestServiceEndpointsFollowRollingUpdate: during a rolling update (maxUnavailable 0)
// the Service always sends traffic to as many ready pods as the Deployment wants, never
// to a new pod before it is ready, goes through both versions, and ends on the new pods
// only, at the same address.
func TestServiceEndpointsFollowRollingUpdate(t *testing.T) {
	const replicas = 4
	b := memory.New()
	r := newLocal(b, "shop")
	syncOK(t, r, webApp(t, replicas, "web:v1", 80)...)
	rt := route(t, b, "shop", "web")
	if rt == nil {
		t.Fatal("the Service web has no route")
	}
	ctx := context.Background()
	b.Hold = func(s backend.PodSpec) bool { return s.Spec.Containers[0].Image == "web:v2" }
	st, err := Load(ctx, b, "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range webApp(t, replicas, "web:v2", 80) {
		if o.Key().Kind == "Deployment" && o.Key().Namespace == "default" && o.Key().Name == "web" {
			if err := applyTo(ctx, r, st, o, "c2"); err != nil {
				t.Fatal(err)
			}
		}
	}
	mixed, started := false, 0
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("the rollout did not finish in 100 steps")
		}
		st, err := Load(ctx, b, "shop")
		if err != nil {
			t.Fatal(err)
		}
		done, err := r.Step(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.WaitDeletes(); err != nil {
			t.Fatal(err)
		}
		got := endpoints(t, b, rt)[80]
		ready := addresses(t, b, 8080, func(p *backend.Pod) bool { return webPod("")(p) && p.Status.Ready })
		if len(got) < replicas {
			t.Fatalf("step %d: the Service sends traffic to %d pods (%v), fewer than the %d maxUnavailable 0 keeps", i, len(got), got, replicas)
		}
		if slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, ":") }) {
			t.Fatalf("step %d: the Service sends traffic to a pod with no address: %v", i, got)
		}
		if !slices.Equal(got, ready) {
			t.Fatalf("step %d: endpoints %v, want the ready web pods %v", i, got, ready)
		}
		old, young := addresses(t, b, 8080, webPod("web:v1")), addresses(t, b, 8080, webPod("web:v2"))
		mixed = mixed || len(old) > 0 && len(young) > 0 && slices.ContainsFunc(got, func(a string) bool { return slices.Contains(young, a) }) &&
			slices.ContainsFunc(got, func(a string) bool { return slices.Contains(old, a) })
		if done {
			if !slices.Equal(got, young) || len(young) != replicas || len(old) != 0 {
				t.Fatalf("rolled out: endpoints %v, want only the %d new pods %v (old left: %v)", got, replicas, young, old)
			}
			break
		}
		// the held new pods start (with an address: the memory backend gives a held pod
		// none) and become ready one step later
		pods, _ := b.ListPods(ctx, nil)
		for _, p := range pods {
			b.SetStatus(p.ID, func(s *backend.PodStatus) {
				if s.Phase == backend.PodPending {
					started++
					s.Phase, s.Ready, s.ReadySince, s.PodIP = backend.PodRunning, true, time.Now(), fmt.Sprintf("10.1.0.%d", started)
				}
			})
		}
	}
	if !mixed {
		t.Errorf("the Service never sent traffic to old and new pods at once during the rollout")
	}
	if now := route(t, b, "shop", "web"); now == nil || now.ClusterIP != rt.ClusterIP {
		t.Errorf("after the rollout the route is %+v, want the address %s kept", now, rt.ClusterIP)
	}
}

// envOf is a pod's Service variables by name.
func envOf(p *backend.Pod) map[string]string {
	m := map[string]string{}
	for _, e := range p.ServiceEnv {
		m[e.Name] = e.Value
	}
	return m
}

func podsOf(t *testing.T, b backend.Backend, owner string) []*backend.Pod {
	t.Helper()
	pods, err := b.ListPods(context.Background(), map[string]string{backend.LabelOwner: owner})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Created.Before(pods[j].Created) })
	return pods
}

// TestServiceEnvAtPodCreation: a pod gets the variables (NAME_SERVICE_HOST, _PORT, ...)
// of the Services of its namespace, of any app, that exist when it is created (not of a
// headless one, not of another namespace's, none with enableServiceLinks: false), and
// every Service's names in its hosts; a Service added later reaches only the pods created
// after it.
func TestServiceEnvAtPodCreation(t *testing.T) {
	b := memory.New()
	syncOK(t, newLocal(b, "other"), parse(t, `apiVersion: v1
kind: Service
metadata: {name: shared}
spec: {selector: {app: shared}, ports: [{port: 7000}]}
`)...)
	app := func(replicas int, withCache bool) []*manifest.Object {
		y := fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: db}
spec: {selector: {app: db}, ports: [{name: pg, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-api}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: metrics, namespace: monitoring}
spec: {selector: {app: metrics}, ports: [{port: 9090}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: web, command: [serve]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: quiet}
spec:
  replicas: 1
  selector: {matchLabels: {app: quiet}}
  template:
    metadata: {labels: {app: quiet}}
    spec: {enableServiceLinks: false, containers: [{name: c, image: quiet, command: [serve]}]}
`, replicas)
		if withCache {
			y += `---
apiVersion: v1
kind: Service
metadata: {name: cache}
spec: {selector: {app: cache}, ports: [{port: 6379}]}
`
		}
		return parse(t, y)
	}
	r := newLocal(b, "shop")
	syncOK(t, r, app(1, false)...)
	ip := func(app, ns, name string) string {
		t.Helper()
		router, _ := backend.RouterOf(b)
		routes, _ := router.Routes(context.Background(), map[string]string{backend.LabelApp: app})
		for _, rt := range routes {
			if rt.Namespace == ns && rt.Name == name {
				return rt.ClusterIP
			}
		}
		t.Fatalf("no route for %s/%s of app %s", ns, name, app)
		return ""
	}
	db, api, shared, metrics := ip("shop", "default", "db"), ip("shop", "default", "web-api"), ip("other", "default", "shared"), ip("shop", "monitoring", "metrics")

	web := podsOf(t, b, "web")
	if len(web) != 1 {
		t.Fatalf("%d web pods, want 1", len(web))
	}
	env := envOf(web[0])
	for name, want := range map[string]string{
		"DB_SERVICE_HOST": db, "DB_SERVICE_PORT": "5432", "DB_SERVICE_PORT_PG": "5432", "DB_PORT": "tcp://" + db + ":5432",
		"DB_PORT_5432_TCP_ADDR": db, "WEB_API_SERVICE_HOST": api, "WEB_API_SERVICE_PORT": "80",
		"SHARED_SERVICE_HOST": shared, "SHARED_SERVICE_PORT": "7000",
	} {
		if env[name] != want {
			t.Errorf("the web pod's %s = %q, want %q", name, env[name], want)
		}
	}
	for name := range env {
		if strings.HasPrefix(name, "HEADLESS_") || strings.HasPrefix(name, "METRICS_") || strings.HasPrefix(name, "CACHE_") {
			t.Errorf("the web pod has %s: a headless Service, another namespace's, or one that did not exist", name)
		}
	}
	hosts := web[0].Hosts
	for name, want := range map[string]string{"db": db, "db.default.svc.cluster.local": db, "web-api": api, "shared": shared,
		"metrics.monitoring": metrics, "metrics.monitoring.svc": metrics} {
		if hosts[name] != want {
			t.Errorf("the web pod's hosts map %s to %q, want %q", name, hosts[name], want)
		}
	}
	if _, ok := hosts["metrics"]; ok {
		t.Errorf("the web pod's hosts name another namespace's Service without its namespace")
	}

	quiet := podsOf(t, b, "quiet")
	if len(quiet) != 1 || len(quiet[0].ServiceEnv) != 0 || quiet[0].Hosts["db"] != db {
		t.Errorf("a pod with enableServiceLinks: false: %d pods, env %v, hosts %v; want no variables and the hosts", len(quiet), quiet[0].ServiceEnv, quiet[0].Hosts)
	}

	// a Service added later: the running pod keeps the variables of its creation ...
	syncOK(t, r, app(1, true)...)
	cache := ip("shop", "default", "cache")
	web = podsOf(t, b, "web")
	if len(web) != 1 || envOf(web[0])["CACHE_SERVICE_HOST"] != "" {
		t.Errorf("the running web pod got the variables of a Service added after it (or was replaced): %d pods, %v", len(web), envOf(web[0]))
	}
	// ... and a pod created after it gets them
	syncOK(t, r, app(2, true)...)
	web = podsOf(t, b, "web")
	if len(web) != 2 {
		t.Fatalf("%d web pods after scaling to 2", len(web))
	}
	if got := envOf(web[0])["CACHE_SERVICE_HOST"]; got != "" {
		t.Errorf("the first web pod has CACHE_SERVICE_HOST=%s", got)
	}
	if got := envOf(web[1]); got["CACHE_SERVICE_HOST"] != cache || got["CACHE_SERVICE_PORT"] != "6379" || got["DB_SERVICE_HOST"] != db {
		t.Errorf("the web pod created after the Service cache has %v, want CACHE_SERVICE_HOST=%s, CACHE_SERVICE_PORT=6379 and the others", got, cache)
	}
}
