package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend/docker/dockertest"
	"kgit.dev/kgit/backend/ingress"
)

// TestDockerIngress drives kgit's ingress controller, a LoadBalancer and an
// ExternalName Service on the real engine through the CLI: two hosts to two Services
// through a rolling update of both with no failed request, Exact before Prefix, the
// default backend, TLS by SNI from a kubernetes.io/tls Secret, a LoadBalancer answering
// on 127.0.0.1 at its port, an ExternalName name in the pods' hosts file, an Ingress
// naming a missing Service refused (exit 3) with nothing changed, and the controller
// stopped by down.
func TestDockerIngress(t *testing.T) {
	b := dockertest.Engine(t)
	if os.Geteuid() != 0 {
		t.Skip("the ingress controller reaches a Service through its address on the bridge, which needs root")
	}
	dockertest.CleanupEngine(t, b, "ding")
	t.Cleanup(func() { ingress.Stop(b.IngressDir()) })
	repo := dockertest.BuildTestImages(t, b, "v1")
	e := newRolloutEnvB(t)
	e.app = "ding"
	t.Setenv("KGIT_BACKEND", "docker")
	t.Setenv(ingress.HTTPAddrEnv, "127.0.0.1:28188")
	t.Setenv(ingress.HTTPSAddrEnv, "127.0.0.1:28543")
	crt, key := testCertificate(t)
	indent := func(pem string) string { return strings.ReplaceAll(strings.TrimSpace(pem), "\n", "\n    ") }
	write := func(version, extra string) {
		y := strings.NewReplacer("__IMAGE__", repo+":v1", "__VERSION__", version, "__CRT__", indent(crt), "__KEY__", indent(key)).Replace(dockerIngressYAML) + extra
		if err := os.WriteFile(filepath.Join(e.repo, "app.yaml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", "app.yaml")
		e.git("commit", "-qm", version)
	}
	sync := func() {
		t.Helper()
		if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
			t.Fatalf("sync: exit %d\n%s", code, errs)
		}
	}
	write("1", "")
	sync()
	const web = "http://127.0.0.1:28188"
	for _, tc := range []struct {
		target target
		want   string
	}{
		{target{url: web + "/echo/x", host: "a.example"}, "a1 /echo/x a.example"},
		{target{url: web + "/echo/y", host: "b.example"}, "b1 /echo/y b.example"},
		{target{url: web + "/version", host: "c.example"}, "b1"}, // the default backend
		{target{url: web + "/echo/exact", host: "p.example"}, "a1 /echo/exact p.example"},
		{target{url: web + "/echo/exact/more", host: "p.example"}, "b1 /echo/exact/more p.example"},
		{target{url: "https://127.0.0.1:28543/echo/s", host: "secure.example", cacert: crtFile(t, crt)}, "a1 /echo/s secure.example"},
		{target{url: "http://127.0.0.1:28190/version"}, "a1"}, // the LoadBalancer's own port
	} {
		if got, err := getTargetSoon(tc.target); err != nil || got != tc.want {
			t.Errorf("GET %s (host %s): %q, %v; want %q", tc.target.url, tc.target.host, got, err, tc.want)
		}
	}
	var out strings.Builder
	runCLI(&out, "get", "svc,ing", "--app", "ding")
	for _, want := range []string{`(?m)^service/lb +LoadBalancer +[0-9.]+ +127\.0\.0\.1 +28190:3[0-9]+/TCP `,
		`(?m)^service/ext +ExternalName +<none> +ding-a\.default\.svc\.cluster\.local `,
		`(?m)^ingress\.networking\.k8s\.io/web +<none> +a\.example,b\.example,secure\.example,p\.example +127\.0\.0\.1 +28188, 28543 `} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("get svc,ing: no match for %s in\n%s", want, out.String())
		}
	}
	out.Reset()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.Contains(out.String(), "localhost"); time.Sleep(200 * time.Millisecond) {
		out.Reset()
		runCLI(&out, "logs", "client", "--app", "ding")
	}
	if !strings.Contains(out.String(), "\text.default.svc.cluster.local") {
		t.Errorf("the client's hosts file has no ext:\n%s", out.String())
	}

	// A rolling update of both Services behind the ingress: no request fails.
	h := startHammer([]target{{url: web + "/version", host: "a.example"}, {url: web + "/version", host: "b.example"}})
	write("2", "")
	sync()
	h.Stop()
	if len(h.failed) > 0 || h.bodies["a1"] == 0 || h.bodies["a2"] == 0 || h.bodies["b2"] == 0 {
		t.Errorf("requests during the rolling update: %d ok, %d failed %v, bodies %v", h.ok, len(h.failed), h.failed, h.bodies)
	}
	t.Logf("requests through the ingress during the rolling update: %d ok, %d failed", h.ok, len(h.failed))

	// An Ingress naming a Service that is not in git: exit 3, nothing changed.
	write("3", dockerBadIngress)
	if code, errs := e.kgit("sync", "--timeout", "120s"); code != 3 || !strings.Contains(errs, `spec.rules[0].http.paths[0].backend.service.name: Invalid value: "nope"`) {
		t.Errorf("sync of a bad Ingress: exit %d, want 3 naming the field:\n%s", code, errs)
	}
	if got, err := get(web + "/version"); err != nil || got != "b2" { // the default backend, as before
		t.Errorf("after the refused sync: %q, %v", got, err)
	}

	if code, errs := e.kgit("down"); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, errs)
	}
	if _, err := get(web + "/version"); err == nil {
		t.Errorf("the ingress controller still answers after down")
	}
	if ingress.ReadStatus(b.IngressDir()) != nil {
		t.Errorf("the ingress controller still runs after down")
	}
}

// testCertificate is the scripts' test certificate for secure.example (PEM).
func testCertificate(t *testing.T) (crt, key string) {
	data, err := os.ReadFile("../../testdata/script/ingress.txtar")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	crt = s[strings.Index(s, "-- tls.crt --\n")+len("-- tls.crt --\n") : strings.Index(s, "-- tls.key --")]
	key = s[strings.Index(s, "-- tls.key --\n")+len("-- tls.key --\n"):]
	return crt, key
}

func crtFile(t *testing.T, crt string) string {
	p := filepath.Join(t.TempDir(), "tls.crt")
	if err := os.WriteFile(p, []byte(crt), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const dockerBadIngress = `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad}
spec:
  rules:
  - host: bad.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: nope, port: {number: 80}}}}
`

const dockerIngressYAML = `apiVersion: v1
kind: Service
metadata: {name: ding-a}
spec:
  selector: {app: ding-a}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ding-b}
spec:
  selector: {app: ding-b}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  selector: {app: ding-a}
  ports: [{port: 28190, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: ding-a.default.svc.cluster.local
---
apiVersion: v1
kind: Secret
metadata: {name: secure-tls}
type: kubernetes.io/tls
stringData:
  tls.crt: |
    __CRT__
  tls.key: |
    __KEY__
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: main
    image: __IMAGE__
    imagePullPolicy: Never
    args: [files, /etc/hosts]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  defaultBackend: {service: {name: ding-b, port: {name: http}}}
  tls:
  - {hosts: [secure.example], secretName: secure-tls}
  rules:
  - host: a.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: ding-a, port: {number: 80}}}}
  - host: b.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: ding-b, port: {number: 80}}}}
  - host: secure.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: ding-a, port: {number: 80}}}}
  - host: p.example
    http:
      paths:
      - {path: /echo, pathType: Prefix, backend: {service: {name: ding-b, port: {number: 80}}}}
      - {path: /echo/exact, pathType: Exact, backend: {service: {name: ding-a, port: {number: 80}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ding-a}
spec:
  replicas: 2
  selector: {matchLabels: {app: ding-a}}
  template:
    metadata: {labels: {app: ding-a}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: __IMAGE__
        imagePullPolicy: Never
        args: [serve]
        env: [{name: VERSION, value: a__VERSION__}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ding-b}
spec:
  replicas: 2
  selector: {matchLabels: {app: ding-b}}
  template:
    metadata: {labels: {app: ding-b}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: __IMAGE__
        imagePullPolicy: Never
        args: [serve]
        env: [{name: VERSION, value: b__VERSION__}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
`
