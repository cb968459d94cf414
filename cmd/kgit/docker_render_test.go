package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// needHelmCLI skips a test when helm is not on the PATH, unless KGIT_REQUIRE_HELM=1 (CI,
// after testdata/tools/install-helm.sh), where it fails instead.
func needHelmCLI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("helm"); err != nil {
		if os.Getenv("KGIT_REQUIRE_HELM") == "1" {
			t.Fatalf("KGIT_REQUIRE_HELM=1 and no helm on the PATH: run testdata/tools/install-helm.sh and put its folder on the PATH")
		}
		t.Skip("no helm on the PATH (testdata/tools/install-helm.sh installs it; KGIT_REQUIRE_HELM=1 makes this a failure)")
	}
}

// helmChartFiles is a chart in the shape of `helm create` (a fullname helper, values for
// the image, replicas and service account, NOTES.txt, a test hook) with RBAC objects and
// a NetworkPolicy, and a values file per environment beside the chart.
func helmChartFiles(repo string) map[string]string {
	return map[string]string{
		"charts/web/Chart.yaml": "apiVersion: v2\nname: web\ndescription: A Helm chart for Kubernetes\ntype: application\nversion: 0.1.0\nappVersion: \"v1\"\n",
		"charts/web/values.yaml": `replicaCount: 1
image:
  repository: ` + repo + `
  tag: ""
serviceAccount:
  create: true
  name: ""
greeting: hello
role: web
service:
  type: ClusterIP
  port: 8080
`,
		"charts/web/templates/_helpers.tpl": `{{- define "web.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "web.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
{{- define "web.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
{{- define "web.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "web.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
`,
		"charts/web/templates/deployment.yaml": helmDeployment("{{ .Values.replicaCount }}"),
		"charts/web/templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ include "web.fullname" . }}
  labels:
    {{- include "web.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
      name: http
  selector:
    {{- include "web.selectorLabels" . | nindent 4 }}
`,
		"charts/web/templates/serviceaccount.yaml": `{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "web.serviceAccountName" . }}
  labels:
    {{- include "web.labels" . | nindent 4 }}
{{- end }}
`,
		"charts/web/templates/rbac.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "web.fullname" . }}-reader
rules:
  - apiGroups: [""]
    resources: [pods, configmaps]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "web.fullname" . }}-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "web.fullname" . }}-reader
subjects:
  - kind: ServiceAccount
    name: {{ include "web.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
`,
		"charts/web/templates/networkpolicy.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "web.fullname" . }}-ingress
spec:
  podSelector:
    matchLabels:
      {{- include "web.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    - ports: [{port: {{ .Values.service.port }}}]
`,
		"charts/web/templates/NOTES.txt": "Reach {{ include \"web.fullname\" . }} on port {{ .Values.service.port }}.\n",
		"charts/web/templates/tests/test-connection.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: "{{ include "web.fullname" . }}-test-connection"
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
      args: ['{{ include "web.fullname" . }}:{{ .Values.service.port }}']
  restartPolicy: Never
`,
		"envs/dev/values.yaml":  "replicaCount: 1\n",
		"envs/prod/values.yaml": "replicaCount: 2\nimage:\n  tag: v2\ngreeting: hello from prod\n",
	}
}

// helmDeployment is the chart's Deployment template, its replicas written as given.
func helmDeployment(replicas string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "web.fullname" . }}
  labels:
    {{- include "web.labels" . | nindent 4 }}
spec:
  replicas: ` + replicas + `
  selector:
    matchLabels:
      {{- include "web.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "web.selectorLabels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ include "web.serviceAccountName" . }}
      terminationGracePeriodSeconds: 1
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          args: [serve]
          env:
            - name: GREETING
              value: {{ .Values.greeting | quote }}
            - name: ROLE
              value: {{ .Values.role | quote }}
          ports:
            - name: http
              containerPort: {{ .Values.service.port }}
          readinessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 1
`
}

// TestDockerHelm runs a Helm chart shaped like `helm create` on the engine, with a
// values file per environment (--helm-values) and a --helm-set value: the pods run the
// image and replicas of the prod values; the chart's RBAC objects and NetworkPolicy are
// kept as records that get lists; a template error is exit 3 naming the template and
// leaves the pods as they were; objects dropped from the chart are pruned.
func TestDockerHelm(t *testing.T) {
	needHelmCLI(t)
	b := dockertest.Engine(t)
	const app = "helmdock"
	dockertest.CleanupEngine(t, b, app)
	repo := dockertest.BuildTestImages(t, b, "v1", "v2")
	e := newRolloutEnvB(t)
	e.app = app
	t.Setenv("KGIT_BACKEND", "docker")
	write := func(files map[string]string) {
		t.Helper()
		for name, data := range files {
			p := filepath.Join(e.repo, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(helmChartFiles(repo))
	e.git("add", ".")
	e.git("commit", "-qm", "chart")
	sync := func(extra ...string) (int, string) {
		return e.kgit(append([]string{"sync", "--path", "charts/web", "--timeout", "120s",
			"--helm-values", "../../envs/prod/values.yaml", "--helm-set", "role=api"}, extra...)...)
	}
	code, errs := sync()
	if code != 0 {
		t.Fatalf("sync of the chart: exit %d\n%s", code, errs)
	}
	for _, kind := range []string{"ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"} {
		if !strings.Contains(errs, "warning: "+kind+": kept as a record") {
			t.Errorf("no warning for the %s records:\n%s", kind, errs)
		}
	}
	if strings.Contains(errs, "test-connection") {
		t.Errorf("the chart's test hook was applied:\n%s", errs)
	}

	// the prod values: 2 replicas of v2, the values file's greeting, --helm-set's role
	running := func(when string) []string {
		t.Helper()
		pods, err := b.ListPods(context.Background(), map[string]string{backend.LabelApp: app})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range pods {
			if p.Status.Ready && p.Spec.Containers[0].Image == repo+":v2" && strings.HasPrefix(p.Name, app+"-web-") {
				names = append(names, p.Name)
			}
		}
		if len(names) != 2 || len(pods) != 2 {
			t.Errorf("%s: %d ready %s-web pods of v2 among %d, want 2", when, len(names), app, len(pods))
		}
		for i, p := range pods {
			if i == 0 && p.Status.PodIP != "" {
				for name, want := range map[string]string{"GREETING": "hello from prod", "ROLE": "api"} {
					if got, _ := getSoon("http://" + p.Status.PodIP + ":8080/env/" + name); got != want {
						t.Errorf("%s: %s in the pod is %q, want %q", when, name, got, want)
					}
				}
			}
		}
		slices.Sort(names)
		return names
	}
	before := running("after the first sync")

	get := func(args ...string) string {
		t.Helper()
		var out strings.Builder
		code := runCLI(&out, append([]string{"get"}, append(args, "--app", app)...)...)
		if code != 0 {
			t.Errorf("get %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
		}
		return out.String()
	}
	records := map[string]string{
		"serviceaccounts": app + "-web",
		"roles":           app + "-web-reader",
		"rolebindings":    app + "-web-reader",
		"netpol":          app + "-web-ingress",
	}
	for res, name := range records {
		if out := get(res); !strings.Contains(out, name) {
			t.Errorf("get %s does not list %s:\n%s", res, name, out)
		}
	}
	if out := get("deploy"); !strings.Contains(out, app+"-web") || !strings.Contains(out, "2/2") {
		t.Errorf("get deploy:\n%s", out)
	}

	// a template error: exit 3 naming the template; the pods are left as they were
	write(map[string]string{"charts/web/templates/deployment.yaml": helmDeployment(`{{ required "replicaCount is required" .Values.replicas }}`)})
	e.git("commit", "-qam", "broken template")
	if code, errs := sync(); code != 3 || !strings.Contains(errs, "charts/web/templates/deployment.yaml") || !strings.Contains(errs, "replicaCount is required") {
		t.Errorf("sync of a broken chart: exit %d, want 3 naming charts/web/templates/deployment.yaml\n%s", code, errs)
	}
	if after := running("after the broken chart"); !slices.Equal(after, before) {
		t.Errorf("the broken chart changed the pods: %v, then %v", before, after)
	}
	for res, name := range records {
		if out := get(res); !strings.Contains(out, name) {
			t.Errorf("after the broken chart, get %s does not list %s:\n%s", res, name, out)
		}
	}

	// the chart is fixed and drops its RBAC and NetworkPolicy: they are pruned, the rest kept
	write(map[string]string{"charts/web/templates/deployment.yaml": helmDeployment("{{ .Values.replicaCount }}")})
	e.git("rm", "-q", "charts/web/templates/rbac.yaml", "charts/web/templates/networkpolicy.yaml")
	e.git("commit", "-qam", "no rbac, no network policy")
	code, errs = sync()
	if code != 0 {
		t.Errorf("sync pruning the RBAC objects and the NetworkPolicy: exit %d\n%s", code, errs)
	}
	for _, pruned := range []string{
		"networkpolicy.networking.k8s.io/" + app + "-web-ingress pruned",
		"role.rbac.authorization.k8s.io/" + app + "-web-reader pruned",
		"rolebinding.rbac.authorization.k8s.io/" + app + "-web-reader pruned",
	} {
		if !strings.Contains(errs, pruned) {
			t.Errorf("the sync does not say %q:\n%s", pruned, errs)
		}
	}
	if strings.Contains(errs, "serviceaccount/"+app+"-web pruned") || strings.Contains(errs, "deployment.apps/"+app+"-web pruned") {
		t.Errorf("the sync pruned what is still in the chart:\n%s", errs)
	}
	for _, res := range []string{"roles", "rolebindings", "netpol"} {
		if out := get(res); strings.Contains(out, records[res]) {
			t.Errorf("%s is still there after the prune:\n%s", records[res], out)
		}
	}
	if out := get("serviceaccounts"); !strings.Contains(out, app+"-web") {
		t.Errorf("the ServiceAccount still in the chart was pruned:\n%s", out)
	}
	if after := running("after the prune"); !slices.Equal(after, before) {
		t.Errorf("pruning records changed the pods: %v, then %v", before, after)
	}
	if code, errs := e.kgit("down", "--path", "charts/web", "--helm-values", "../../envs/prod/values.yaml"); code != 0 {
		t.Errorf("down: exit %d\n%s", code, errs)
	}
}
