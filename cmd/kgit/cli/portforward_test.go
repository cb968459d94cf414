package cli

import (
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

func TestParseForward(t *testing.T) {
	p := &backend.Pod{PodSpec: backend.PodSpec{Name: "web-1", Spec: manifest.PodSpec{Containers: []manifest.Container{
		{Name: "web", Ports: []manifest.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}}}
	svc := &manifest.Service{ObjectMeta: manifest.ObjectMeta{Name: "web"}, Spec: manifest.ServiceSpec{Ports: []manifest.ServicePort{
		{Name: "http", Port: 80, TargetPort: manifest.IntOrString{IsString: true, StrVal: "http"}},
		{Name: "admin", Port: 9000},
	}}}
	for _, tc := range []struct {
		spec string
		svc  *manifest.Service
		want forward
		err  string
	}{
		{spec: "8080", want: forward{8080, 8080}},
		{spec: "9090:8080", want: forward{9090, 8080}},
		{spec: ":8080", want: forward{0, 8080}},
		{spec: "http", want: forward{8080, 8080}},
		{spec: "5000:http", want: forward{5000, 8080}},
		{spec: "5000:80", svc: svc, want: forward{5000, 8080}},
		{spec: "admin", svc: svc, want: forward{9000, 9000}},
		{spec: "5000:81", svc: svc, err: "Service web does not have a service port 81"},
		{spec: "grpc", err: "Pod 'web-1' does not have a named port 'grpc'"},
		{spec: "x:80", err: `error parsing local port "x": it must be a number from 0 to 65535`},
		{spec: "80:70000", err: `error parsing remote port "70000": it must be a number from 1 to 65535`},
	} {
		got, err := parseForward(tc.spec, p, tc.svc)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %s", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}
