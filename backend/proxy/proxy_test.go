package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

func TestAssignNodePorts(t *testing.T) {
	svc := func(name string, ports ...int32) *backend.Service {
		s := &backend.Service{Name: name, Namespace: "default", Spec: manifest.ServiceSpec{Type: manifest.ServiceNodePort}}
		for i, np := range ports {
			s.Spec.Ports = append(s.Spec.Ports, manifest.ServicePort{Port: int32(80 + i), NodePort: np})
		}
		return s
	}
	other := svc("other")
	other.NodePorts = map[int32]int32{80: 30000, 81: 30002}
	for _, tc := range []struct {
		name string
		svc  *backend.Service
		old  map[int32]int32
		want map[int32]int32
		err  string
	}{
		{"asked for", svc("web", 30080), nil, map[int32]int32{80: 30080}, ""},
		{"first free, skipping the others'", svc("web", 0, 0), nil, map[int32]int32{80: 30001, 81: 30003}, ""},
		{"kept from before", svc("web", 0), map[int32]int32{80: 31000}, map[int32]int32{80: 31000}, ""},
		{"taken by another Service", svc("web", 30002), nil, nil, "nodePort 30002 is already used by service default/other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AssignNodePorts(tc.svc, tc.old, []*backend.Service{other})
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if got, _ := AssignNodePorts(&backend.Service{Spec: manifest.ServiceSpec{Type: manifest.ServiceClusterIP}}, nil, nil); got != nil {
		t.Errorf("a ClusterIP Service got node ports %v", got)
	}
}

func TestTargetPort(t *testing.T) {
	spec := &manifest.PodSpec{Containers: []manifest.Container{{Ports: []manifest.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}
	for tp, want := range map[manifest.IntOrString]int32{manifest.FromInt(9000): 9000, manifest.FromString("http"): 8080, manifest.FromString("grpc"): 0} {
		if got := TargetPort(spec, tp); got != want {
			t.Errorf("TargetPort(%v) = %d, want %d", tp, got, want)
		}
	}
}

// echo serves "name\n" to each connection.
func echo(t *testing.T, name string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, name)
			c.Close()
		}
	}()
	return l.Addr().String()
}

// TestServe forwards through a real listener: connections go round the ready endpoints,
// skip one that refuses, and are closed when there is none.
func TestServe(t *testing.T) {
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := refused.Addr().String()
	refused.Close()
	a, b := echo(t, "a"), echo(t, "b")
	eps := make(chan map[int32][]string, 1)
	eps <- map[int32][]string{int32(port): {a, dead, b}}
	current := map[int32][]string{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := &backend.Service{ClusterIP: "127.0.0.1", Spec: manifest.ServiceSpec{Ports: []manifest.ServicePort{{Port: int32(port)}}}}
	listening := make(chan struct{})
	go func() {
		_ = Serve(ctx, svc, 10*time.Millisecond, func(context.Context) (map[int32][]string, error) {
			select {
			case current = <-eps:
			default:
			}
			return current, nil
		}, func(string) { close(listening) })
	}()
	<-listening
	get := func() (string, error) {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return "", err
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		if len(b) == 0 && err == nil {
			err = errors.New("closed without an answer")
		}
		return string(b), err
	}
	seen := map[string]int{}
	for range 30 {
		got, err := get()
		if err != nil {
			t.Fatalf("a request failed although two endpoints are up: %v", err)
		}
		seen[got]++
	}
	if seen["a\n"] == 0 || seen["b\n"] == 0 || len(seen) != 2 {
		t.Errorf("answers %v, want both a and b", seen)
	}
	eps <- map[int32][]string{}
	time.Sleep(50 * time.Millisecond)
	if got, err := get(); err == nil {
		t.Errorf("with no ready endpoint a request got %q", got)
	}
}

// TestServeLoadBalancer: a LoadBalancer Service answers on 127.0.0.1 at its own port
// and at its node port; a port the host holds leaves it pending, named, and the node
// port still answers.
func TestServeLoadBalancer(t *testing.T) {
	freePort := func() int {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	held, _ := net.Listen("tcp", "127.0.0.1:0")
	defer held.Close()
	a := echo(t, "a")
	for _, tc := range []struct {
		name    string
		port    int
		pending string
	}{
		{"free", freePort(), ""},
		{"held", held.Addr().(*net.TCPAddr).Port, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			np := freePort()
			svc := &backend.Service{Spec: manifest.ServiceSpec{Type: manifest.ServiceLoadBalancer, Ports: []manifest.ServicePort{{Port: int32(tc.port)}}},
				NodePorts: map[int32]int32{int32(tc.port): int32(np)}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pending := make(chan string, 1)
			go func() {
				_ = Serve(ctx, svc, time.Hour, func(context.Context) (map[int32][]string, error) {
					return map[int32][]string{int32(tc.port): {a}}, nil
				}, func(p string) { pending <- p })
			}()
			p := <-pending
			if !strings.Contains(p, tc.pending) || (tc.pending == "") != (p == "") || tc.pending != "" && !strings.Contains(p, strconv.Itoa(tc.port)) {
				t.Fatalf("pending %q, want %q naming port %d", p, tc.pending, tc.port)
			}
			addrs := []int{np}
			if tc.pending == "" {
				addrs = append(addrs, tc.port)
			}
			for _, port := range addrs {
				c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(c)
				c.Close()
				if string(b) != "a\n" {
					t.Errorf("port %d answered %q", port, b)
				}
			}
		})
	}
}
