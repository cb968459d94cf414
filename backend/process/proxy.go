package process

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// endpointRefresh is how often a proxy re-reads which pods are ready; a pod being
// stopped waits drainDelay after it leaves, so that no proxy still sends it traffic.
const (
	endpointRefresh = 50 * time.Millisecond
	drainDelay      = 4 * endpointRefresh
)

// proxy forwards a Service's connections to its ready pods.
type proxy struct {
	root string
	svc  backend.Service
	next atomic.Uint64

	mu        sync.Mutex
	endpoints map[int32][]string // by service port: ready pods' host:port
	pods      map[string]cachedPod
}

type cachedPod struct {
	mod time.Time
	pf  podFile
}

// Proxy serves one Service until it is told to stop or its folder is removed. It is the
// body of the hidden `kgit __proxy` command, and it outlives the CLI that started it.
func Proxy(root, id string) error {
	b := New(root, "")
	dir := b.serviceDir(id)
	p := &proxy{root: root, pods: map[string]cachedPod{}}
	if err := readJSON(filepath.Join(dir, "service.json"), &p.svc); err != nil {
		return fmt.Errorf("proxy %s: %w", id, err)
	}
	var listeners []net.Listener
	listen := func(addr string, port int32) error {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
		go p.serve(l, port)
		return nil
	}
	p.refresh()
	for _, sp := range p.svc.Spec.Ports {
		if err := listen(net.JoinHostPort(p.svc.ClusterIP, strconv.Itoa(int(sp.Port))), sp.Port); err != nil {
			return err
		}
		if np := p.svc.NodePorts[sp.Port]; np != 0 {
			if err := listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(int(np))), sp.Port); err != nil {
				return fmt.Errorf("nodePort %d: %w", np, err)
			}
		}
	}
	if self, err := identify(os.Getpid()); err == nil {
		_ = writeJSON(filepath.Join(dir, "proxy.json"), self)
	}
	if err := os.WriteFile(filepath.Join(dir, "listening"), nil, 0o600); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(endpointRefresh)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-sigs:
			for _, l := range listeners {
				l.Close()
			}
			return nil
		case <-tick.C:
			p.refresh()
			if n%20 == 0 {
				if _, err := os.Stat(filepath.Join(dir, "service.json")); errors.Is(err, fs.ErrNotExist) {
					return nil // the Service was removed without us
				}
			}
		}
	}
}

// refresh recomputes the ready endpoints of each service port from the pods' folders.
func (p *proxy) refresh() {
	podsDir := filepath.Join(p.root, "pods")
	entries, _ := os.ReadDir(podsDir)
	eps := map[int32][]string{}
	seen := map[string]bool{}
	for _, e := range entries {
		id := e.Name()
		st, err := os.Stat(filepath.Join(podsDir, id, "pod.json"))
		if err != nil {
			continue
		}
		seen[id] = true
		c, ok := p.pods[id]
		if !ok || !c.mod.Equal(st.ModTime()) {
			c = cachedPod{mod: st.ModTime()}
			if readJSON(filepath.Join(podsDir, id, "pod.json"), &c.pf) != nil {
				continue
			}
			c.pf.Resolved, c.pf.Files = nil, nil
			p.pods[id] = c
		}
		if !selects(&p.svc, &c.pf) {
			continue
		}
		var status statusFile
		if readJSON(filepath.Join(podsDir, id, "status.json"), &status) != nil || status.Stopping ||
			!(status.Ready || p.svc.Spec.PublishNotReadyAddresses && status.Phase == backend.PodRunning) {
			continue
		}
		for _, sp := range p.svc.Spec.Ports {
			if port := targetPort(&c.pf.Spec, sp.TargetPort); port > 0 {
				eps[sp.Port] = append(eps[sp.Port], net.JoinHostPort(c.pf.PodIP, strconv.Itoa(int(port))))
			}
		}
	}
	for id := range p.pods {
		if !seen[id] {
			delete(p.pods, id)
		}
	}
	p.mu.Lock()
	p.endpoints = eps
	p.mu.Unlock()
}

// targetPort resolves a Service's targetPort on a pod: a number, or the name of one of
// its containers' ports; 0 when the pod has no such port.
func targetPort(spec *manifest.PodSpec, tp manifest.IntOrString) int32 {
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
		c, err := net.DialTimeout("tcp", eps[(start+i)%len(eps)], time.Second)
		if err == nil {
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
