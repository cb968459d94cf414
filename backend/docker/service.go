package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/volume"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/internal/tmpdir"
	"kgit.dev/kgit/manifest"
)

// On docker a Service is a route record (a labelled volume, like the controller
// records), an address of kgit's network that the host holds on the network's bridge,
// and a host process, `kgit __proxy --docker ROUTE`, that listens there (and on the
// node ports) and forwards to the ready pods' addresses. The proxy runs the pods'
// readiness probes itself, so traffic follows readiness after the CLI has exited.
const (
	labelRoute    = "kgit.dev/route"
	labelDraining = "kgit.dev/draining"
	routeKind     = "ServiceRoute"
	// ProxyFlag marks the docker form of `kgit __proxy`.
	ProxyFlag = "--docker"
	// proxyRefresh is how often a docker proxy looks at the pods: each look lists the
	// containers and probes what is due.
	proxyRefresh = 250 * time.Millisecond
)

var _ backend.Router = (*Backend)(nil)

// Route records the Service's route (keeping its address and node ports), puts its
// address on the bridge, and makes sure a proxy serves exactly this route.
func (b *Backend) Route(ctx context.Context, svc backend.Service) (*backend.Service, error) {
	netID, subnet, err := b.network(ctx)
	if err != nil {
		return nil, err
	}
	routes, err := b.Routes(ctx, nil)
	if err != nil {
		return nil, err
	}
	var old *backend.Service
	for _, r := range routes {
		if r.Namespace == svc.Namespace && r.Name == svc.Name {
			old = r
		}
	}
	switch {
	case svc.Spec.Type == manifest.ServiceExternalName:
		// an alias of another name, which the pods' hosts files hold: no address, no proxy
		if old != nil && old.ClusterIP != "" {
			_ = b.holdAddress(ctx, netID, old.ClusterIP, "del")
		}
	case old != nil && old.ClusterIP != "":
		svc.ClusterIP = old.ClusterIP
	default:
		if svc.ClusterIP, err = serviceAddress(svc.Namespace+"/"+svc.Name, subnet, routes); err != nil {
			return nil, err
		}
	}
	var oldPorts map[int32]int32
	if old != nil {
		oldPorts = old.NodePorts
	}
	if svc.NodePorts, err = proxy.AssignNodePorts(&svc, oldPorts, routes); err != nil {
		return nil, err
	}
	if old != nil && (old.ClusterIP != "" || svc.Spec.Type == manifest.ServiceExternalName) && reflect.DeepEqual(old.WithoutStatus(), svc) && old.Pending == "" {
		// The common case of a sync: nothing changed and its proxy serves it.
		if data, err := json.Marshal(svc); err == nil {
			for _, p := range b.proxies(svc.Namespace, svc.Name) {
				if bytes.Equal(p.route, data) {
					return old, nil
				}
			}
			if svc.ClusterIP == "" && len(svc.NodePorts) == 0 {
				return old, nil
			}
		}
	}
	if svc.ClusterIP != "" {
		if err := b.holdAddress(ctx, netID, svc.ClusterIP, "replace"); err != nil {
			// Without root (or with a remote engine) the address cannot be held: the Service
			// keeps its node ports, and pods get neither its address nor its name.
			if b.log != nil {
				fmt.Fprintf(b.log, "warning: service %s/%s gets no cluster address, only its node ports: %v\n", svc.Namespace, svc.Name, err)
			}
			svc.ClusterIP = ""
		}
	}
	data, err := json.Marshal(svc)
	if err != nil {
		return nil, err
	}
	if old == nil || !reflect.DeepEqual(*old, svc) {
		if err := b.putRoute(ctx, svc); err != nil {
			return nil, err
		}
	}
	if svc.ClusterIP == "" && len(svc.NodePorts) == 0 {
		for _, p := range b.proxies(svc.Namespace, svc.Name) {
			stopProcess(p) // nothing to listen on
		}
		return &svc, nil
	}
	if old != nil && old.Pending != "" {
		for _, p := range b.proxies(svc.Namespace, svc.Name) {
			stopProcess(p) // a new one tries the load balancer's ports again
		}
	}
	pending, err := b.ensureProxy(svc.Namespace, svc.Name, data)
	if err != nil {
		return nil, err
	}
	if svc.Spec.Type == manifest.ServiceLoadBalancer {
		if svc.Pending = pending; pending == "" {
			svc.LoadBalancer = proxy.LoadBalancerIP
		}
		if err := b.putRoute(ctx, svc); err != nil {
			return nil, err
		}
	}
	return &svc, nil
}

// putRoute records a route.
func (b *Backend) putRoute(ctx context.Context, svc backend.Service) error {
	data, err := json.Marshal(svc)
	if err != nil {
		return err
	}
	labels := map[string]string{labelRoute: "true"}
	for k, v := range svc.Labels {
		labels[k] = v
	}
	return b.PutRecord(ctx, backend.Record{Kind: routeKind, Namespace: svc.Namespace, Name: svc.Name, Labels: labels, Created: time.Now().UTC(), Data: data})
}

// IngressDir implements backend.IngressHost: one ingress controller per engine, its
// folder in the temporary folder (as the proxies' logs), named for the engine.
func (b *Backend) IngressDir() string {
	h := fnv.New32a()
	h.Write([]byte(b.host))
	return filepath.Join(os.TempDir(), fmt.Sprintf("kgit-ingress-%08x", h.Sum32()))
}

// serviceAddress picks a free address in the last 254 of the subnet, which pods never
// get (see allocateIP).
func serviceAddress(key string, subnet netip.Prefix, routes []*backend.Service) (string, error) {
	used := map[string]bool{}
	for _, r := range routes {
		used[r.ClusterIP] = true
	}
	size := uint32(1) << (32 - subnet.Bits())
	if size < 1024 {
		return "", fmt.Errorf("docker: kgit's network %s is too small for Services (it needs a /22 or larger)", subnet)
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	base := subnet.Masked().Addr().As4()
	first := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	for i := uint32(0); i < 254; i++ {
		n := first + size - 255 + (h.Sum32()+i)%254
		ip := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
		if !used[ip] {
			return ip, nil
		}
	}
	return "", errors.New("docker: no free Service address in kgit's network")
}

// inServiceRange reports whether off (an address's offset in a subnet of size) is one
// that serviceAddress hands out.
func inServiceRange(off, size uint32) bool { return size >= 1024 && off >= size-255 }

// holdAddress adds (op "replace") or removes (op "del") a Service address on the bridge
// of kgit's network, so that the host, and with it the proxy, answers there. On Podman
// the address is held on the loopback interface instead: Podman's bridge exists only
// while a container is attached to it (it is removed with the last one, and with it
// any address on it), and the host answers the pods for an address on any of its
// interfaces.
func (b *Backend) holdAddress(ctx context.Context, netID, ip, op string) error {
	bridge := "lo"
	if !b.Podman(ctx) {
		res, err := b.cli.NetworkInspect(ctx, netID)
		if err != nil {
			return fmt.Errorf("docker: inspect network %s: %w", NetworkName, err)
		}
		bridge = res.Network.Options["com.docker.network.bridge.name"]
		if bridge == "" {
			bridge = "br-" + res.Network.ID[:12]
		}
	}
	out, err := exec.CommandContext(ctx, "ip", "addr", op, ip+"/32", "dev", bridge).CombinedOutput()
	if err != nil && op != "del" {
		return fmt.Errorf("holding %s on bridge %s needs root on the engine's host: ip addr: %v: %s", ip, bridge, err, bytes.TrimSpace(out))
	}
	return nil
}

// Routes reads the route records.
func (b *Backend) Routes(ctx context.Context, selector map[string]string) ([]*backend.Service, error) {
	sel := map[string]string{labelRoute: "true"}
	for k, v := range selector {
		sel[k] = v
	}
	recs, err := b.ListRecords(ctx, sel)
	if err != nil {
		return nil, err
	}
	var out []*backend.Service
	for _, r := range recs {
		var s backend.Service
		if err := json.Unmarshal(r.Data, &s); err != nil {
			return nil, fmt.Errorf("docker: route %s/%s is unreadable: %w", r.Namespace, r.Name, err)
		}
		out = append(out, &s)
	}
	return out, nil
}

// Unroute stops the Service's proxy, gives up its address and removes its record.
func (b *Backend) Unroute(ctx context.Context, ns, name string) error {
	routes, err := b.Routes(ctx, map[string]string{backend.LabelNamespace: ns})
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.Name != name {
			continue
		}
		for _, p := range b.proxies(ns, name) {
			stopProcess(p)
		}
		if netID, _, err := b.network(ctx); err == nil && r.ClusterIP != "" {
			_ = b.holdAddress(ctx, netID, r.ClusterIP, "del")
		}
		return b.DeleteRecord(ctx, backend.Record{Kind: routeKind, Namespace: ns, Name: name, Labels: r.Labels})
	}
	return nil
}

// proxyProc is a running docker proxy: its PID and the route it serves.
type proxyProc struct {
	pid   int
	route []byte
}

// ensureProxy keeps one proxy serving exactly route: others of the Service stop, and a
// new one is started (detached, outliving kgit) unless one already serves it. pending
// is what a new proxy could not listen on.
func (b *Backend) ensureProxy(ns, name string, route []byte) (pending string, err error) {
	running := false
	for _, p := range b.proxies(ns, name) {
		if bytes.Equal(p.route, route) && !running {
			running = true
			continue
		}
		stopProcess(p)
	}
	if running {
		return "", nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	tmp, err := tmpdir.Dir()
	if err != nil {
		return "", fmt.Errorf("docker: service %s/%s: %w", ns, name, err)
	}
	log := filepath.Join(tmp, fmt.Sprintf("proxy-%s_%s.log", ns, name))
	// the proxy talks to this engine (New reads DOCKER_HOST), wherever kgit found it
	if _, pending, err = proxy.Start(exe, []string{"kgit", "__proxy", ProxyFlag, string(route)}, log, "DOCKER_HOST="+b.host); err != nil {
		return "", fmt.Errorf("docker: service %s/%s: %w", ns, name, err)
	}
	return pending, nil
}

// Proxy is the body of `kgit __proxy --docker ROUTE`: it serves the route until it is
// told to stop or the route's record is gone.
func Proxy(route string) error {
	var svc backend.Service
	if err := json.Unmarshal([]byte(route), &svc); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	b, err := New(os.Stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		for ctx.Err() == nil {
			time.Sleep(2 * time.Second)
			if routes, err := b.Routes(ctx, map[string]string{backend.LabelNamespace: svc.Namespace}); err == nil && !hasRoute(routes, svc.Name) {
				stop() // the Service was removed without us
			}
		}
	}()
	seen := proxySeen(b.host, svc.Namespace, svc.Name)
	defer os.Remove(seen)
	return proxy.Serve(ctx, &svc, proxyRefresh, func(ctx context.Context) (map[int32][]string, error) {
		began := time.Now()
		eps, err := b.endpoints(ctx, &svc)
		if err == nil {
			if os.Chtimes(seen, began, began) != nil {
				if f, err := os.Create(seen); err == nil {
					f.Close()
					_ = os.Chtimes(seen, began, began)
				}
			}
		}
		return eps, err
	}, proxy.Listening)
}

func hasRoute(routes []*backend.Service, name string) bool {
	for _, r := range routes {
		if r.Name == name {
			return true
		}
	}
	return false
}

// endpoints lists the Service's ready pods (probing what is due), leaving out those
// being drained before a stop.
func (b *Backend) endpoints(ctx context.Context, svc *backend.Service) (map[int32][]string, error) {
	pods, err := b.ListPods(ctx, map[string]string{backend.LabelNamespace: svc.Namespace})
	if err != nil {
		return nil, err
	}
	draining, err := b.draining(ctx)
	if err != nil {
		return nil, err
	}
	eps := map[int32][]string{}
	for _, p := range pods {
		if proxy.Selects(svc, p.Namespace, p.Labels) && !draining[p.UID] &&
			(p.Status.Ready || svc.Spec.PublishNotReadyAddresses && p.Status.Phase == backend.PodRunning) {
			proxy.Add(eps, svc, &p.Spec, p.Status.PodIP)
		}
	}
	return eps, nil
}

// draining returns the UIDs of the pods being stopped that proxies must leave alone.
func (b *Backend) draining(ctx context.Context) (map[string]bool, error) {
	vols, err := b.volumeList(ctx, map[string]string{labelDraining: ""})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, v := range vols {
		out[v.Labels[labelPodUID]] = true
	}
	return out, nil
}

// drain takes a pod out of the Services that select it before it is stopped: a marker
// volume tells their proxies, and the pod is stopped once each of them has looked at the
// pods again, a look begun after the marker was made (see proxySeen). A proxy that is
// not running (the next sync starts another), or one that never says (an older kgit's),
// is waited for three of its periods, as before; a running one that is slow, up to
// drainWait. The marker goes with the pod's other volumes.
func (b *Backend) drain(ctx context.Context, ns, pod, uid string, labels map[string]string) error {
	routes, err := b.Routes(ctx, map[string]string{backend.LabelNamespace: ns})
	if err != nil || uid == "" {
		return err
	}
	var proxies []drainProxy
	for _, r := range routes {
		if proxy.Selects(r, ns, labels) {
			proxies = append(proxies, drainProxy{seen: proxySeen(b.host, r.Namespace, r.Name), running: len(b.proxies(r.Namespace, r.Name)) > 0})
		}
	}
	if len(proxies) == 0 {
		return nil
	}
	_, err = b.cli.VolumeCreate(ctx, volume.CreateRequest{Name: "kgit-draining-" + uid, Labels: map[string]string{
		backend.LabelManagedBy: backend.ManagedBy, backend.LabelNamespace: ns, labelPod: pod, labelPodUID: uid, labelDraining: "true"}})
	if err != nil {
		return err
	}
	made := time.Now()
	for !drained(proxies, made, time.Now()) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(proxyRefresh / 5):
		}
	}
	return nil
}

// drainProxy is a proxy a draining pod waits for: its seen file, and whether it ran
// when the drain began.
type drainProxy struct {
	seen    string
	running bool
}

// drained reports whether the proxies have each looked at the pods since made, or need
// not be waited for any longer at now.
func drained(proxies []drainProxy, made, now time.Time) bool {
	waited := now.Sub(made)
	for _, p := range proxies {
		st, err := os.Stat(p.seen)
		switch {
		case err == nil && !st.ModTime().Before(made): // it looked again
		case waited < 3*proxyRefresh:
			return false
		case err != nil || !p.running: // never says, or gone
		case waited < drainWait:
			return false // looking, slowly: a busy machine
		}
	}
	return true
}

// drainWait is the longest a pod's stop waits for a slow proxy to leave it out.
const drainWait = 10 * time.Second

// proxySeen is the file whose modification time a docker proxy of the engine at host
// sets, after each look at the pods, to when that look began: drain waits on it. It is
// "" (no file: drain waits a fixed time) when kgit's temporary folder is refused.
func proxySeen(host, ns, name string) string {
	tmp, err := tmpdir.Dir()
	if err != nil {
		return ""
	}
	h := fnv.New32a()
	h.Write([]byte(host))
	return filepath.Join(tmp, fmt.Sprintf("proxy-%s_%s-%08x.seen", ns, name, h.Sum32()))
}
