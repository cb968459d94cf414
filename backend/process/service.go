//go:build linux

package process

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/manifest"
)

var _ backend.Router = (*Backend)(nil)

// A Service lives in its own folder, beside the pods:
//
//	ROOT/services/NAMESPACE_NAME/service.json  the route (spec, address, node ports)
//	ROOT/services/NAMESPACE_NAME/proxy.json    the proxy's PID and start time
//	ROOT/services/NAMESPACE_NAME/proxy.log     what the proxy says
func (b *Backend) serviceDir(id string) string { return filepath.Join(b.root, "services", id) }

// Route writes the Service's route, keeping its address and node ports, and makes sure
// its proxy runs the current route.
func (b *Backend) Route(ctx context.Context, svc backend.Service) (*backend.Service, error) {
	id := svc.Namespace + "_" + svc.Name
	dir := b.serviceDir(id)
	unlock, err := b.lockFile(ctx, filepath.Join(b.root, "services.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	var old backend.Service
	hadOld := readJSON(filepath.Join(dir, "service.json"), &old) == nil
	routes, err := b.Routes(ctx, nil)
	if err != nil {
		return nil, err
	}
	if svc.ClusterIP, err = clusterIP(id, old.ClusterIP, routes); err != nil {
		return nil, err
	}
	if svc.NodePorts, err = proxy.AssignNodePorts(&svc, old.NodePorts, routes); err != nil {
		return nil, err
	}
	if svc.Spec.Type == manifest.ServiceExternalName {
		// an alias of another name, which the pods' hosts files hold: no address, no proxy
		svc.ClusterIP = ""
	}
	var running Proc
	_ = readJSON(filepath.Join(dir, "proxy.json"), &running)
	if hadOld && reflect.DeepEqual(old.WithoutStatus(), svc) && old.Pending == "" && (running.Alive() || svc.ClusterIP == "") {
		return &old, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	stopProxy(dir)
	if err := writeJSON(filepath.Join(dir, "service.json"), svc); err != nil {
		return nil, err
	}
	if svc.ClusterIP == "" {
		return &svc, nil
	}
	pending, err := b.startProxy(id)
	if err != nil {
		return nil, err
	}
	if svc.Spec.Type == manifest.ServiceLoadBalancer {
		if svc.Pending = pending; pending == "" {
			svc.LoadBalancer = proxy.LoadBalancerIP
		}
		if err := writeJSON(filepath.Join(dir, "service.json"), svc); err != nil {
			return nil, err
		}
	}
	return &svc, nil
}

// IngressDir implements backend.IngressHost: the ingress controller's folder is in the
// root, beside the Services'.
func (b *Backend) IngressDir() string { return filepath.Join(b.root, "ingress") }

// clusterIP keeps a Service's address, or picks a free one in 127.255.0.0/16, which
// pods' addresses (127.1-254.x.x) never use.
func clusterIP(id, old string, routes []*backend.Service) (string, error) {
	if old != "" {
		return old, nil
	}
	used := map[string]bool{}
	for _, r := range routes {
		used[r.ClusterIP] = true
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	for i := uint32(0); i < 65536; i++ {
		n := (h.Sum32() + i) % 65536
		if n%256 == 0 || n%256 == 255 {
			continue
		}
		ip := fmt.Sprintf("127.255.%d.%d", n/256, n%256)
		if !used[ip] {
			return ip, nil
		}
	}
	return "", errors.New("process: no free service address")
}

// startProxy starts a Service's proxy; pending says which load balancer ports it could
// not listen on.
func (b *Backend) startProxy(id string) (pending string, err error) {
	dir, exe := b.serviceDir(id), b.supervisorProgram()
	_, pending, err = proxy.Start(exe, []string{argv0(exe), ProxyCommand, "--root", b.root, id}, filepath.Join(dir, "proxy.log"))
	if err != nil {
		return "", fmt.Errorf("service %s: %w", strings.Replace(id, "_", "/", 1), err)
	}
	return pending, nil
}

// stopProxy stops a Service's proxy, if it runs.
func stopProxy(dir string) {
	var p Proc
	if readJSON(filepath.Join(dir, "proxy.json"), &p) == nil && p.Alive() {
		p.Signal(syscall.SIGTERM)
		if !p.waitGone(2 * time.Second) {
			p.Signal(syscall.SIGKILL)
			p.waitGone(time.Second)
		}
	}
}

// Routes reads every Service's route.
func (b *Backend) Routes(ctx context.Context, selector map[string]string) ([]*backend.Service, error) {
	entries, err := os.ReadDir(filepath.Join(b.root, "services"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*backend.Service
	for _, e := range entries {
		var s backend.Service
		if readJSON(filepath.Join(b.serviceDir(e.Name()), "service.json"), &s) == nil && backend.Matches(s.Labels, selector) {
			out = append(out, &s)
		}
	}
	return out, nil
}

// Unroute stops a Service's proxy and removes its folder.
func (b *Backend) Unroute(ctx context.Context, ns, name string) error {
	dir := b.serviceDir(ns + "_" + name)
	stopProxy(dir)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("process: remove service %s/%s: %w", ns, name, err)
	}
	return nil
}

// servedBy reports whether a Service of the backend selects the pod: such a pod is
// taken out of its Services' endpoints before its containers are stopped.
func servedBy(root string, pod *podFile) bool {
	entries, _ := os.ReadDir(filepath.Join(root, "services"))
	for _, e := range entries {
		var s backend.Service
		if readJSON(filepath.Join(root, "services", e.Name(), "service.json"), &s) == nil && proxy.Selects(&s, pod.Namespace, pod.Labels) {
			return true
		}
	}
	return false
}
