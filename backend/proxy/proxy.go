// Package proxy forwards a Service's connections to its ready pods. Each backend runs
// it in a process of its own (`kgit __proxy`), so that a Service keeps answering after
// the CLI exits; the backend tells it, again and again, which pods are ready.
package proxy

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// Refresh is how often a proxy of the process backend asks which pods are ready. A
// backend that stops a pod of a Service waits a few refreshes after taking it out, so
// that no proxy still sends it traffic.
const (
	Refresh = 50 * time.Millisecond
	Drain   = 4 * Refresh
)

// Endpoints returns, by service port, the host:port of each ready pod.
type Endpoints func(ctx context.Context) (map[int32][]string, error)

// LoadBalancerIP is where a LoadBalancer Service answers on its own ports, as Docker
// Desktop and k3s's service load balancer serve them: the host's loopback address.
const LoadBalancerIP = "127.0.0.1"

// Serve listens on the Service's address for each port, if it has one, on 127.0.0.1 at
// each node port and, for a LoadBalancer Service, at each of its ports; calls listening
// once it does, with why a load balancer port could not be had ("" when all were: a
// port the host holds leaves the Service <pending>, not down), and forwards connections
// to the endpoints, asked for every refresh, until ctx ends.
func Serve(ctx context.Context, svc *backend.Service, refresh time.Duration, endpoints Endpoints, listening func(pending string)) error {
	p := &proxy{}
	if err := p.refresh(ctx, endpoints); err != nil {
		return err
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var pending []string
	for _, sp := range svc.Spec.Ports {
		if svc.Spec.Type == manifest.ServiceLoadBalancer {
			l, err := net.Listen("tcp", net.JoinHostPort(LoadBalancerIP, strconv.Itoa(int(sp.Port))))
			if err != nil {
				pending = append(pending, err.Error())
			} else {
				listeners = append(listeners, l)
				go p.serve(l, sp.Port)
			}
		}
		var addrs []string
		if svc.ClusterIP != "" { // "": the backend could give the Service no address
			addrs = append(addrs, net.JoinHostPort(svc.ClusterIP, strconv.Itoa(int(sp.Port))))
		}
		if np := svc.NodePorts[sp.Port]; np != 0 {
			addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(np))))
		}
		for _, addr := range addrs {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			listeners = append(listeners, l)
			go p.serve(l, sp.Port)
		}
	}
	listening(strings.Join(pending, "; "))
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			_ = p.refresh(ctx, endpoints) // a failed look keeps the last endpoints
		}
	}
}

type proxy struct {
	next      atomic.Uint64
	mu        sync.Mutex
	endpoints map[int32][]string
}

func (p *proxy) refresh(ctx context.Context, endpoints Endpoints) error {
	eps, err := endpoints(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.endpoints = eps
	p.mu.Unlock()
	return nil
}

func (p *proxy) serve(l net.Listener, port int32) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go p.forward(conn, port)
	}
}

// forward connects a client to a ready pod, trying the next one when a pod refuses
// (it may have just begun to stop), and copies both ways until both sides are done.
func (p *proxy) forward(client net.Conn, port int32) {
	defer client.Close()
	p.mu.Lock()
	eps := p.endpoints[port]
	p.mu.Unlock()
	start := int(p.next.Add(1))
	var upstream net.Conn
	for i := range eps {
		if c, err := net.DialTimeout("tcp", eps[(start+i)%len(eps)], time.Second); err == nil {
			upstream = c
			break
		}
	}
	if upstream == nil {
		return // no ready pod: the client sees the connection closed
	}
	defer upstream.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(upstream, client)
		closeWrite(upstream)
		close(done)
	}()
	_, _ = io.Copy(client, upstream)
	closeWrite(client)
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// Selects reports whether a Service sends traffic to a pod of namespace ns with labels.
func Selects(svc *backend.Service, ns string, labels map[string]string) bool {
	return svc.Namespace == ns && len(svc.Spec.Selector) > 0 && backend.Matches(labels, svc.Spec.Selector)
}

// Add appends a ready pod at ip to eps for each service port whose target it has.
func Add(eps map[int32][]string, svc *backend.Service, spec *manifest.PodSpec, ip string) {
	for _, sp := range svc.Spec.Ports {
		if port := TargetPort(spec, sp.TargetPort); port > 0 {
			eps[sp.Port] = append(eps[sp.Port], net.JoinHostPort(ip, strconv.Itoa(int(port))))
		}
	}
}

// TargetPort resolves a Service's targetPort on a pod: a number, or the name of one of
// its containers' ports; 0 when the pod has no such port.
func TargetPort(spec *manifest.PodSpec, tp manifest.IntOrString) int32 {
	if !tp.IsString {
		return tp.IntVal
	}
	for _, c := range spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == tp.StrVal {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

// AssignNodePorts gives each port of a NodePort (or LoadBalancer) Service its node port: the one asked
// for, the one it had (old, by service port), or the first free one of the range. A node
// port that another route holds is an error.
func AssignNodePorts(svc *backend.Service, old map[int32]int32, routes []*backend.Service) (map[int32]int32, error) {
	if svc.Spec.Type != manifest.ServiceNodePort && svc.Spec.Type != manifest.ServiceLoadBalancer {
		return nil, nil
	}
	used := map[int32]string{}
	for _, r := range routes {
		if r.Namespace != svc.Namespace || r.Name != svc.Name {
			for _, np := range r.NodePorts {
				used[np] = r.Namespace + "/" + r.Name
			}
		}
	}
	out := map[int32]int32{}
	for _, p := range svc.Spec.Ports {
		np := p.NodePort
		if np == 0 {
			np = old[p.Port]
		}
		if np != 0 {
			if holder, taken := used[np]; taken {
				return nil, &PortTakenError{Port: np, Holder: holder}
			}
		} else {
			for c := int32(manifest.NodePortMin); c <= manifest.NodePortMax; c++ {
				if _, taken := used[c]; !taken {
					np = c
					break
				}
			}
		}
		used[np] = svc.Namespace + "/" + svc.Name
		out[p.Port] = np
	}
	return out, nil
}

// PortTakenError is a node port that another Service holds.
type PortTakenError struct {
	Port   int32
	Holder string
}

func (e *PortTakenError) Error() string {
	return "nodePort " + strconv.Itoa(int(e.Port)) + " is already used by service " + e.Holder
}
