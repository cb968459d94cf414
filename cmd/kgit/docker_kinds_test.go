package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/backend/docker/dockertest"
)

// TestDockerKinds drives Services, configMap/secret volumes and a StatefulSet through
// the CLI on the real engine: the NodePort and the ClusterIP answer from the host, the
// pods have the Services' variables, a rolling update behind the Service loses no
// request, volume files have their modes, and a StatefulSet pod's claim survives its
// replacement.
func TestDockerKinds(t *testing.T) {
	b := dockertest.Engine(t)
	if os.Geteuid() != 0 {
		t.Skip("a Service's address on docker is held on the bridge, which needs root (TestDockerServiceWithoutAddress covers the rest)")
	}
	dockertest.CleanupEngine(t, b, "kinds")
	repo := dockertest.BuildTestImages(t, b, "v1")
	e := newRolloutEnvB(t)
	e.app = "kinds"
	t.Setenv("KGIT_BACKEND", "docker")
	write := func(version string) {
		y := strings.NewReplacer("__IMAGE__", repo+":v1", "__VERSION__", version).Replace(dockerKindsYAML)
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
	write("v1")
	sync()
	const nodePort = "http://127.0.0.1:30081"
	got, err := getSoon(nodePort + "/version")
	if err != nil || got != "v1" {
		t.Fatalf("GET through the NodePort: %q, %v", got, err)
	}
	var out strings.Builder
	if code := runCLI(&out, "get", "svc", "web", "-o", "json", "--app", "kinds"); code != 0 {
		t.Fatalf("get svc: exit %d", code)
	}
	var svc struct {
		Items []struct {
			Spec struct{ ClusterIP string } `json:"spec"`
		} `json:"items"`
		Spec struct{ ClusterIP string } `json:"spec"`
	}
	if err := json.Unmarshal([]byte(out.String()), &svc); err != nil {
		t.Fatalf("get svc -o json: %v\n%s", err, out.String())
	}
	ip := svc.Spec.ClusterIP
	if ip == "" && len(svc.Items) > 0 {
		ip = svc.Items[0].Spec.ClusterIP
	}
	if got, err := get("http://" + ip + "/version"); err != nil || got != "v1" {
		t.Errorf("GET through the ClusterIP %s: %q, %v", ip, got, err)
	}
	if got, _ := get(nodePort + "/env/WEB_SERVICE_HOST"); got != ip {
		t.Errorf("WEB_SERVICE_HOST in a pod: %q, want %s", got, ip)
	}

	// Volume files, with their modes, in the StatefulSet's pods; each has its claim.
	logs := podLogs(t, "db-0", "done")
	for _, want := range []string{"/etc/config/color 640 blue", "/etc/secret/password 600 hunter2", "boots=1", ip + "\tweb.default.svc.cluster.local"} {
		if !strings.Contains(logs, want) {
			t.Errorf("db-0's files: no %q in\n%s", want, logs)
		}
	}

	// A rolling update behind the Service (and of the StatefulSet): no request fails.
	h := startHammer([]target{{url: nodePort + "/version"}})
	write("v2")
	sync()
	h.Stop()
	if len(h.failed) > 0 || h.bodies["v1"] == 0 || h.bodies["v2"] == 0 {
		t.Errorf("requests during the rolling update: %d ok, %d failed %v, bodies %v", h.ok, len(h.failed), h.failed, h.bodies)
	}
	t.Logf("requests through the NodePort during the rolling update: %d ok, %d failed", h.ok, len(h.failed))
	if logs := podLogs(t, "db-1", "done"); !strings.Contains(logs, "boots=2") {
		t.Errorf("db-1 after its replacement: want its claim kept (boots=2):\n%s", logs)
	}

	if code, errs := e.kgit("down"); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, errs)
	}
	if _, err := get(nodePort + "/version"); err == nil {
		t.Errorf("the NodePort still answers after down")
	}
}

// TestDockerServiceWithoutAddress runs where the bridge address cannot be held (as a
// user without root would: here, no `ip` on the PATH): the sync still succeeds with a
// warning, the NodePort answers, and pods get no variables for the address-less Service.
func TestDockerServiceWithoutAddress(t *testing.T) {
	b := dockertest.Engine(t)
	dockertest.CleanupEngine(t, b, "noaddr")
	repo := dockertest.BuildTestImages(t, b, "v1")
	e := newRolloutEnvB(t)
	e.app = "noaddr"
	t.Setenv("KGIT_BACKEND", "docker")
	bin := t.TempDir() // a PATH with git and sh, and no ip
	for _, tool := range []string{"git", "sh"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	y := strings.NewReplacer("__IMAGE__", repo+":v1", "30081", "30083").Replace(strings.SplitN(dockerKindsYAML, "---\napiVersion: apps/v1\nkind: StatefulSet", 2)[0])
	y = strings.NewReplacer("__VERSION__", "v1").Replace(y)
	if err := os.WriteFile(filepath.Join(e.repo, "app.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("add", "app.yaml")
	e.git("commit", "-qm", "v1")
	code, errs := e.kgit("sync", "--timeout", "120s")
	if code != 0 || !strings.Contains(errs, "warning: service default/web gets no cluster address, only its node ports") {
		t.Fatalf("sync: exit %d, want 0 with a warning:\n%s", code, errs)
	}
	const nodePort = "http://127.0.0.1:30083"
	got, err := getSoon(nodePort + "/version")
	if err != nil || got != "v1" {
		t.Fatalf("GET through the NodePort: %q, %v", got, err)
	}
	if got, _ := get(nodePort + "/env/WEB_SERVICE_HOST"); got != "" {
		t.Errorf("WEB_SERVICE_HOST of an address-less Service: %q, want none", got)
	}
	var out strings.Builder
	runCLI(&out, "get", "svc", "--app", "noaddr")
	if !strings.Contains(out.String(), "NodePort   <none>") {
		t.Errorf("get svc: want no cluster address:\n%s", out.String())
	}
	if code, errs := e.kgit("down"); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, errs)
	}
}

// podLogs returns a pod's log once it holds until (a pod may be running before it has
// printed anything), or what it holds after 20 s.
func podLogs(t *testing.T, pod, until string) string {
	t.Helper()
	var out strings.Builder
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out.Reset()
		runCLI(&out, "logs", pod, "--app", "kinds")
		if strings.Contains(out.String(), until) {
			break
		}
	}
	return out.String()
}

const dockerKindsYAML = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http, nodePort: 30081}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: __IMAGE__
        imagePullPolicy: Never
        args: [serve]
        env: [{name: VERSION, value: __VERSION__}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      volumes:
      - name: config
        configMap: {name: settings, defaultMode: 0640}
      - name: secret
        secret: {secretName: creds}
      containers:
      - name: main
        image: __IMAGE__
        imagePullPolicy: Never
        args: [files, /etc/config, /etc/secret, /data, /etc/hosts]
        env:
        - {name: VERSION, value: __VERSION__}
        - {name: BOOTS_FILE, value: /data/boots}
        volumeMounts:
        - {name: config, mountPath: /etc/config}
        - {name: secret, mountPath: /etc/secret}
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata: {name: data}
`
