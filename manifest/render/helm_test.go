package render

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// needHelm skips a test when helm is not on the PATH, unless KGIT_REQUIRE_HELM=1 (CI,
// after testdata/tools/install-helm.sh), where it fails instead.
func needHelm(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("helm"); err != nil {
		if os.Getenv("KGIT_REQUIRE_HELM") == "1" {
			t.Fatalf("KGIT_REQUIRE_HELM=1 and no helm on the PATH: run testdata/tools/install-helm.sh and put its folder on the PATH")
		}
		t.Skip("no helm on the PATH (testdata/tools/install-helm.sh installs it; KGIT_REQUIRE_HELM=1 makes this a failure)")
	}
}

// chartRepo holds a local chart in the shape of `helm create`, values files per
// environment outside the chart, and a library dependency vendored through file://.
var chartRepo = repo(
	"charts/web/Chart.yaml", `
apiVersion: v2
name: web
version: 0.1.0
appVersion: "1.0.0"
dependencies:
  - name: common
    version: 0.1.0
    repository: file://../common
`,
	"charts/web/values.yaml", `
replicaCount: 1
image:
  repository: ghcr.io/example/web
  tag: ""
service:
  port: 80
config:
  logLevel: info
`,
	"charts/web/templates/_helpers.tpl", `
{{- define "web.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
`,
	"charts/web/templates/deployment.yaml", `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "web.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app: {{ include "web.fullname" . }}
  template:
    metadata:
      labels:
        app: {{ include "web.fullname" . }}
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          command: ["/web"]
          env:
            - name: LOG_LEVEL
              value: {{ .Values.config.logLevel | quote }}
`,
	"charts/web/templates/service.yaml", `
apiVersion: v1
kind: Service
metadata:
  name: {{ include "web.fullname" . }}
spec:
  selector:
    app: {{ include "web.fullname" . }}
  ports:
    - port: {{ .Values.service.port }}
---
{{- if .Values.extraConfigMap }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "web.fullname" . }}-extra
data:
  note: {{ .Values.extraConfigMap | quote }}
{{- end }}
`,
	"charts/web/templates/empty.yaml", `{{- if false }}nothing{{ end }}`,
	"charts/web/templates/tests/test-connection.yaml", `
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "web.fullname" . }}-test
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
  restartPolicy: Never
`,
	"charts/web/crds/widgets.yaml", `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object}
`,
	"charts/common/Chart.yaml", "apiVersion: v2\nname: common\nversion: 0.1.0\ntype: library\n",
	"charts/common/templates/_labels.tpl", `
{{- define "common.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
`,
	"envs/prod/values.yaml", `
replicaCount: 3
image:
  tag: "2.0.0"
config:
  logLevel: warn
`,
)

func TestHelmChart(t *testing.T) {
	needHelm(t)
	res, err := Render(context.Background(), chartRepo, "charts/web", Options{
		Release:    "shop",
		Namespace:  "prod",
		ValueFiles: []string{"../../envs/prod/values.yaml"},
		Set:        []string{"replicaCount=4", "extraConfigMap=hi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != Helm || res.Entry != "charts/web/Chart.yaml" {
		t.Fatalf("kind %v entry %q", res.Kind, res.Entry)
	}
	objs := objects(t, res)
	if len(objs) != 4 {
		t.Errorf("%d objects, want the CRD, Deployment, Service and ConfigMap (no test hook, nothing for an empty template): %v", len(objs), res.Docs)
	}
	d := "Deployment/shop-web"
	expect(t, objs, d, "metadata.namespace", "prod")
	expect(t, objs, d, "spec.replicas", 4)                                                    // --set beats the values file
	expect(t, objs, d, "spec.template.spec.containers[0].image", "ghcr.io/example/web:2.0.0") // values file beats values.yaml
	expect(t, objs, d, "spec.template.spec.containers[0].env[0].value", "warn")
	if labels, _ := field(objs[d], "metadata.labels").(map[string]any); labels["app.kubernetes.io/instance"] != "shop" {
		t.Errorf("labels from the file:// library chart: %v", labels)
	}
	expect(t, objs, "Service/shop-web", "spec.ports[0].port", 80)
	expect(t, objs, "ConfigMap/shop-web-extra", "data.note", "hi")
	expect(t, objs, "CustomResourceDefinition/widgets.example.com", "spec.group", "example.com")
	want := map[string]string{
		"Deployment/shop-web":                          "charts/web/templates/deployment.yaml",
		"Service/shop-web":                             "charts/web/templates/service.yaml",
		"ConfigMap/shop-web-extra":                     "charts/web/templates/service.yaml",
		"CustomResourceDefinition/widgets.example.com": "charts/web/crds/widgets.yaml",
	}
	for _, doc := range res.Docs {
		if w, ok := want[doc.Object]; ok && (doc.Path != w || !doc.Rendered) {
			t.Errorf("%s attributed to %q, want %q", doc.Object, doc.Path, w)
		}
	}
}

func TestHelmErrors(t *testing.T) {
	needHelm(t)
	deploy := "charts/web/templates/deployment.yaml"
	for _, tc := range []struct {
		name  string
		fsys  fs.FS
		opts  Options
		file  string
		wants []string
	}{
		{"template error", with(chartRepo, deploy, strings.Replace(string(chartRepo[deploy].Data), "{{ .Values.replicaCount }}", "{{ required \"replicaCount is required\" .Values.nope }}", 1)), Options{Release: "shop"}, deploy, []string{"replicaCount is required", "helm template"}},
		{"template syntax error", with(chartRepo, deploy, strings.Replace(string(chartRepo[deploy].Data), "{{ .Values.replicaCount }}", "{{ .Values.replicaCount ", 1)), Options{Release: "shop"}, deploy, []string{"helm template"}},
		{"dependency not in git", with(chartRepo, "charts/web/Chart.yaml", strings.Replace(string(chartRepo["charts/web/Chart.yaml"].Data), "file://../common", "https://charts.example.com", 1)), Options{Release: "shop"}, "charts/web/Chart.yaml", []string{"dependencies[0]", "charts/web/charts", "vendor"}},
		{"missing values file", chartRepo, Options{Release: "shop", ValueFiles: []string{"values-prod.yaml"}},
			"charts/web/values-prod.yaml", []string{"values file"}},
		{"values file outside the repository", chartRepo, Options{Release: "shop", ValueFiles: []string{"../../../x.yaml"}},
			"charts/web/Chart.yaml", []string{"outside the repository"}},
		{"no release name", chartRepo, Options{}, "charts/web/Chart.yaml", []string{"release name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(context.Background(), tc.fsys, "charts/web", tc.opts)
			checkFieldError(t, err, tc.file, tc.wants...)
		})
	}
}

// TestHelmNotInstalled needs no helm: the error says what is missing and is invalid input.
func TestHelmNotInstalled(t *testing.T) {
	_, err := Render(context.Background(), chartRepo, "charts/web", Options{Release: "shop", HelmCommand: "kgit-no-such-helm"})
	checkFieldError(t, err, "charts/web/Chart.yaml", "helm", "not on the PATH")
	if !errors.Is(err, ErrNoHelm) {
		t.Errorf("%v is not ErrNoHelm", err)
	}
}
