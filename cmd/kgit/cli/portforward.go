package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/kubernetes"
	"kgit.dev/kgit/manifest"
)

func newPortForwardCmd(g *globals) *cobra.Command {
	var addresses []string
	cmd := &cobra.Command{
		Use:   "port-forward (POD | TYPE/NAME) [LOCAL_PORT:]REMOTE_PORT [...]",
		Short: "Forward local ports to a pod, as kubectl does; runs until interrupted",
		Long: "Forward one or more local ports to a pod, as kubectl port-forward does, until interrupted.\n" +
			"TYPE/NAME picks one ready pod of a Deployment, StatefulSet, ReplicaSet, DaemonSet or Service; for\n" +
			"a Service, REMOTE_PORT is a port of the Service, forwarded to its target port. LOCAL_PORT is the\n" +
			"same as REMOTE_PORT when left out; ':REMOTE_PORT' takes a free local port. REMOTE_PORT may be a\n" +
			"named container port.",
		Args:              rangeArgs(2, 64, "POD or TYPE/NAME and at least one port"),
		ValidArgsFunction: completePods(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var fw backend.PortForwarder
			var svc *manifest.Service
			var pods []view
			if g.backendChoice() == KubernetesName { // through the API server to the pod's kubelet
				t, ps, owner, err := clusterPods(ctx, g, args[0])
				if err != nil {
					return err
				}
				if owner.kind == "Service" {
					if svc, err = kubernetes.ServiceOf(owner.obj.(map[string]any)); err != nil {
						return err
					}
				}
				fw, pods = t, ps
			} else {
				b, ps, err := g.podsWith(cmd, args[0], "forward ports", func(b backend.Backend) bool { _, ok := backend.PortForwarderOf(b); return ok })
				if err != nil {
					return err
				}
				fw, _ = backend.PortForwarderOf(b)
				pods = ps
				if kind, _, ok := strings.Cut(args[0], "/"); ok {
					if k, _ := kindOf(kind); k == "Service" {
						v, err := findView(ctx, cmd, g, b, kind, strings.SplitN(args[0], "/", 2)[1])
						if err != nil {
							return err
						}
						svc, err = serviceOf(v)
						if err != nil {
							return err
						}
					}
				}
			}
			p := pods[0].pod
			if p.Status.Phase != backend.PodRunning {
				return fmt.Errorf("unable to forward port because pod is not running. Current status=%s", p.Status.Phase)
			}
			var forwards []forward
			for _, spec := range args[1:] {
				f, err := parseForward(spec, p, svc)
				if err != nil {
					return err
				}
				forwards = append(forwards, f)
			}
			return portForward(ctx, g.stdout, g.stderr, fw, p, addresses, forwards)
		},
	}
	cmd.Flags().StringSliceVar(&addresses, "address", []string{"localhost"}, "addresses to listen on (comma separated); localhost is 127.0.0.1 and ::1")
	g.cluster.registerReadNamespace(cmd.Flags())
	return cmd
}

// serviceOf reads a Service back from its view.
func serviceOf(v view) (*manifest.Service, error) {
	o, ok := v.obj.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("service %s: unexpected object", v.name)
	}
	spec, ok := o["spec"].(manifest.ServiceSpec)
	if !ok {
		return nil, fmt.Errorf("service %s: unexpected object", v.name)
	}
	return &manifest.Service{Spec: spec, ObjectMeta: manifest.ObjectMeta{Name: v.name, Namespace: v.namespace}}, nil
}

// forward is one LOCAL:REMOTE of port-forward; local 0 takes a free port.
type forward struct {
	local, remote int
}

// parseForward reads [LOCAL:]REMOTE as kubectl does: REMOTE is a number or a named
// container port; for a Service, REMOTE is the Service's port, turned into its target.
func parseForward(spec string, p *backend.Pod, svc *manifest.Service) (forward, error) {
	local, remote, ok := strings.Cut(spec, ":")
	if !ok {
		local, remote = "", spec // the local port is the remote one, once resolved
	}
	var f forward
	var err error
	if local != "" {
		if f.local, err = strconv.Atoi(local); err != nil || f.local < 0 || f.local > 65535 {
			return f, invalid("error parsing local port %q: it must be a number from 0 to 65535", local)
		}
	}
	target := manifest.IntOrString{StrVal: remote, IsString: true}
	if n, err := strconv.Atoi(remote); err == nil {
		if n < 1 || n > 65535 {
			return f, invalid("error parsing remote port %q: it must be a number from 1 to 65535", remote)
		}
		target = manifest.FromInt(int32(n))
	}
	if svc != nil {
		found := false
		for _, sp := range svc.Spec.Ports {
			if !target.IsString && sp.Port == target.IntVal || target.IsString && sp.Name == target.StrVal {
				found, target = true, sp.TargetPort
				if !target.IsString && target.IntVal == 0 {
					target = manifest.FromInt(sp.Port)
				}
				break
			}
		}
		if !found {
			return f, invalid("Service %s does not have a service port %s", svc.Name, remote)
		}
	}
	if !target.IsString {
		f.remote = int(target.IntVal)
	} else {
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == target.StrVal && f.remote == 0 {
					f.remote = int(cp.ContainerPort)
				}
			}
		}
		if f.remote == 0 {
			return f, invalid("Pod '%s' does not have a named port '%s'", p.Name, target.StrVal)
		}
	}
	if !ok && f.local == 0 {
		f.local = f.remote
	}
	return f, nil
}

// portForward listens on every address for each forward and copies each connection to
// the pod's port until ctx ends, printing what kubectl prints.
func portForward(ctx context.Context, stdout, stderr io.Writer, fw backend.PortForwarder, p *backend.Pod, addresses []string, forwards []forward) error {
	var hosts []string
	for _, a := range addresses {
		if a == "localhost" {
			hosts = append(hosts, "127.0.0.1", "::1")
		} else {
			hosts = append(hosts, a)
		}
	}
	var mu sync.Mutex // one line at a time
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, format+"\n", args...)
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, f := range forwards {
		local, bound := f.local, 0
		for _, h := range hosts {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(local)))
			if err != nil {
				if h == "::1" && len(addresses) == 1 && addresses[0] == "localhost" {
					continue // no IPv6 loopback: kubectl goes on with 127.0.0.1
				}
				return fmt.Errorf("unable to listen on port %d: %w", f.local, err)
			}
			local = l.Addr().(*net.TCPAddr).Port // :REMOTE took a free port: the same one on every address
			bound++
			listeners = append(listeners, l)
			say("Forwarding from %s -> %d", l.Addr(), f.remote)
			go accept(ctx, l, local, f.remote, fw, p, say, stderr)
		}
		if bound == 0 {
			return fmt.Errorf("unable to listen on any of the requested ports: [%d]", f.local)
		}
	}
	<-ctx.Done()
	return nil
}

func accept(ctx context.Context, l net.Listener, local, remote int, fw backend.PortForwarder, p *backend.Pod, say func(string, ...any), stderr io.Writer) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		say("Handling connection for %d", local)
		go func() {
			defer conn.Close()
			up, err := fw.DialPod(ctx, p, remote)
			if err != nil {
				fmt.Fprintf(stderr, "E0000 port-forward: an error occurred forwarding %d -> %d: %v\n", local, remote, err)
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, conn); closeWrite(up); done <- struct{}{} }()
			go func() { _, _ = io.Copy(conn, up); closeWrite(conn); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
}
