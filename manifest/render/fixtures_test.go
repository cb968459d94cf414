package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// repo builds a repository tree from path → content pairs.
func repo(files ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i+1 < len(files); i += 2 {
		m[files[i]] = &fstest.MapFile{Data: []byte(strings.TrimLeft(files[i+1], "\n"))}
	}
	return m
}

// writeRepo writes a tree into a new folder and returns the folder.
func writeRepo(t *testing.T, fsys fstest.MapFS) string {
	t.Helper()
	dir := t.TempDir()
	for name, f := range fsys {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// with returns a copy of a tree with some files added or replaced.
func with(base fstest.MapFS, files ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range repo(files...) {
		m[k] = v
	}
	return m
}

// appsRepo is laid out as the Flux and Argo CD examples are: an app's base, and dev and
// prod overlays that reach it with ../../base, plus a plain folder and a local chart.
var appsRepo = repo(
	"apps/web/base/kustomization.yaml", `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
configMapGenerator:
  - name: web-config
    literals:
      - LOG_LEVEL=info
    files:
      - config/app.properties
`,
	"apps/web/base/config/app.properties", "greeting=hello\n",
	"apps/web/base/deployment.yaml", `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
          command: ["/web"]
          envFrom:
            - configMapRef:
                name: web-config
            - secretRef:
                name: web-secret
          ports:
            - containerPort: 8080
`,
	"apps/web/base/service.yaml", `
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 8080
`,
	"apps/web/overlays/dev/kustomization.yaml", `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web-dev
namePrefix: dev-
resources:
  - ../../base
commonLabels:
  env: dev
secretGenerator:
  - name: web-secret
    literals:
      - TOKEN=dev-token
configMapGenerator:
  - name: web-config
    behavior: merge
    literals:
      - LOG_LEVEL=debug
`,
	"apps/web/overlays/prod/kustomization.yaml", `
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web-prod
namePrefix: prod-
resources:
  - ../../base
  - ../../../../shared/limits.yaml
labels:
  - pairs:
      env: prod
      team: payments
    includeSelectors: false
images:
  - name: ghcr.io/example/web
    newTag: 2.1.0
replicas:
  - name: web
    count: 3
secretGenerator:
  - name: web-secret
    envs:
      - secret.env
patches:
  - path: deployment-resources.yaml
  - target:
      kind: Service
      name: web
    patch: |-
      - op: replace
        path: /spec/ports/0/port
        value: 8443
`,
	"apps/web/overlays/prod/secret.env", "TOKEN=prod-token\n",
	"apps/web/overlays/prod/deployment-resources.yaml", `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          resources:
            limits:
              memory: 256Mi
`,
	"shared/limits.yaml", `
apiVersion: v1
kind: LimitRange
metadata:
  name: limits
spec:
  limits:
    - type: Container
      default:
        memory: 128Mi
`,
	"plain/web.yaml", `
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
`,
	"plain/sub/svc.yml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports: [{port: 80}]\n",
	"plain/README.md", "# not a manifest\n",
	"plain.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
)
