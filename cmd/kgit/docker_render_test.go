package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker/dockertest"
)

// TestDockerKustomize runs a repository as users lay them out on the engine: a Kustomize
// overlay (a ../../ base, an image override, namePrefix, replicas, a configMapGenerator)
// beside kinds no local backend enforces (a ServiceAccount, a CRD and its custom
// resource), kept as records; pruning removes them.
func TestDockerKustomize(t *testing.T) {
	b := dockertest.Engine(t)
	dockertest.CleanupEngine(t, b, "kust")
	repo := dockertest.BuildTestImages(t, b, "v1", "v2")
	e := newRolloutEnvB(t)
	e.app = "kust"
	t.Setenv("KGIT_BACKEND", "docker")
	files := map[string]string{
		"base/kustomization.yaml": "resources: [deployment.yaml, extras.yaml]\n",
		"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ` + repo + `:v1
        args: [serve]
        env: [{name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
`,
		"base/extras.yaml": `apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: blue}
spec: {color: blue}
`,
		"overlays/prod/kustomization.yaml": `resources: [../../base]
namePrefix: prod-
replicas: [{name: web, count: 2}]
images: [{name: ` + repo + `, newTag: v2}]
configMapGenerator: [{name: settings, literals: [greeting=hello]}]
`,
	}
	for name, data := range files {
		p := filepath.Join(e.repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.git("add", ".")
	e.git("commit", "-qm", "overlay")
	code, errs := e.kgit("sync", "--path", "overlays/prod", "--timeout", "120s")
	if code != 0 {
		t.Fatalf("sync of the overlay: exit %d\n%s", code, errs)
	}
	if !strings.Contains(errs, "warning: Widget: kept as a record") {
		t.Errorf("no warning for the custom resource:\n%s", errs)
	}
	pods, err := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "kust"})
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, p := range pods {
		if p.Status.Ready && p.Spec.Containers[0].Image == repo+":v2" && strings.HasPrefix(p.Name, "prod-web-") {
			ready++
		}
	}
	if ready != 2 {
		t.Errorf("%d ready prod-web pods of v2, want 2", ready)
	}
	var out strings.Builder
	if code := runCLI(&out, "get", "widgets", "--app", "kust"); code != 0 || !strings.Contains(out.String(), "blue") {
		t.Errorf("get widgets: exit %d\n%s", code, out.String())
	}
	if got, _ := getSoon("http://" + pods[0].Status.PodIP + ":8080/env/GREETING"); got != "hello" {
		t.Errorf("GREETING from the generated ConfigMap: %q", got)
	}
	// the custom resource leaves git: pruned
	if err := os.WriteFile(filepath.Join(e.repo, "base/extras.yaml"), []byte("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("commit", "-qam", "no widget")
	if code, errs := e.kgit("sync", "--path", "overlays/prod", "--timeout", "120s"); code != 0 || !strings.Contains(errs, "pruned") {
		t.Errorf("sync pruning the widget: exit %d\n%s", code, errs)
	}
	out.Reset()
	if code := runCLI(&out, "get", "widgets", "--app", "kust"); strings.Contains(out.String(), "blue") {
		t.Errorf("the widget is still there after the prune: exit %d\n%s", code, out.String())
	}
	if code, errs := e.kgit("down", "--path", "overlays/prod"); code != 0 {
		t.Errorf("down: exit %d\n%s", code, errs)
	}
}
