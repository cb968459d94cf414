package render

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"kgit.dev/kgit/manifest"
)

// objects decodes rendered documents by "Kind/name".
func objects(t *testing.T, res *Result) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, d := range res.Docs {
		var m map[string]any
		if err := yaml.Unmarshal(d.Data, &m); err != nil {
			t.Fatalf("%s: %v\n%s", d.Origin(), err, d.Data)
		}
		out[d.Object] = m
	}
	return out
}

// field reads a dotted path; [n] indexes a list.
func field(obj map[string]any, p string) any {
	var cur any = obj
	for _, part := range strings.Split(p, ".") {
		name, idx, isList := strings.Cut(part, "[")
		if name != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[name]
		}
		if isList {
			var i int
			fmt.Sscanf(idx, "%d]", &i)
			l, ok := cur.([]any)
			if !ok || i >= len(l) {
				return nil
			}
			cur = l[i]
		}
	}
	return cur
}

func expect(t *testing.T, objs map[string]map[string]any, obj, p string, want any) {
	t.Helper()
	o, ok := objs[obj]
	if !ok {
		names := make([]string, 0, len(objs))
		for k := range objs {
			names = append(names, k)
		}
		t.Errorf("no %s among %v", obj, names)
		return
	}
	if got := field(o, p); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s %s = %v, want %v", obj, p, got, want)
	}
}

func TestKustomizeProdOverlay(t *testing.T) {
	res, err := Render(context.Background(), appsRepo, "apps/web/overlays/prod", Options{Sources: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != Kustomize || res.Entry != "apps/web/overlays/prod/kustomization.yaml" {
		t.Fatalf("kind %v entry %q", res.Kind, res.Entry)
	}
	objs := objects(t, res)
	if len(objs) != 5 {
		t.Errorf("%d objects, want 5 (Deployment, Service, ConfigMap, Secret, LimitRange): %v", len(objs), res.Docs)
	}
	var cm, secret string
	for k := range objs {
		if strings.HasPrefix(k, "ConfigMap/prod-web-config-") {
			cm = k
		}
		if strings.HasPrefix(k, "Secret/prod-web-secret-") {
			secret = k
		}
	}
	if cm == "" || secret == "" {
		t.Fatalf("generated ConfigMap and Secret are missing or not hash-suffixed: %v", res.Docs)
	}
	d := "Deployment/prod-web"
	expect(t, objs, d, "metadata.namespace", "web-prod")
	expect(t, objs, d, "metadata.labels.env", "prod")
	expect(t, objs, d, "metadata.labels.team", "payments")
	expect(t, objs, d, "spec.selector.matchLabels.env", nil) // labels without includeSelectors
	expect(t, objs, d, "spec.replicas", 3)
	expect(t, objs, d, "spec.template.spec.containers[0].image", "ghcr.io/example/web:2.1.0")
	expect(t, objs, d, "spec.template.spec.containers[0].resources.limits.memory", "256Mi")
	expect(t, objs, d, "spec.template.spec.containers[0].command[0]", "/web")
	// generated names are rewritten where they are used
	expect(t, objs, d, "spec.template.spec.containers[0].envFrom[0].configMapRef.name", strings.TrimPrefix(cm, "ConfigMap/"))
	expect(t, objs, d, "spec.template.spec.containers[0].envFrom[1].secretRef.name", strings.TrimPrefix(secret, "Secret/"))
	expect(t, objs, cm, "data.LOG_LEVEL", "info")
	expect(t, objs, cm, "data.app\\.properties", nil)
	if got := field(objs[cm], "data"); fmt.Sprint(got) != "map[LOG_LEVEL:info app.properties:greeting=hello\n]" {
		t.Errorf("ConfigMap data = %q", got)
	}
	expect(t, objs, secret, "data.TOKEN", base64.StdEncoding.EncodeToString([]byte("prod-token")))
	expect(t, objs, "Service/prod-web", "spec.ports[0].port", 8443) // JSON6902 patch
	expect(t, objs, "Service/prod-web", "metadata.namespace", "web-prod")
	expect(t, objs, "LimitRange/prod-limits", "spec.limits[0].default.memory", "128Mi") // a file outside the overlay's folder
	sources := map[string]string{
		d:                        "apps/web/base/deployment.yaml",
		"Service/prod-web":       "apps/web/base/service.yaml",
		"LimitRange/prod-limits": "shared/limits.yaml",
		cm:                       "apps/web/base/kustomization.yaml",
		secret:                   "apps/web/overlays/prod/kustomization.yaml",
	}
	for _, doc := range res.Docs {
		if doc.Path != res.Entry || !doc.Rendered || doc.Source != sources[doc.Object] {
			t.Errorf("%s: attributed to %q from %q (rendered %v), want the kustomization, from %q", doc.Object, doc.Path, doc.Source, doc.Rendered, sources[doc.Object])
		}
		if strings.Contains(string(doc.Data), "config.kubernetes.io/origin") || strings.Contains(string(doc.Data), "annotations") {
			t.Errorf("%s: kgit's origin annotations were left in:\n%s", doc.Object, doc.Data)
		}
	}
}

func TestKustomizeDevOverlay(t *testing.T) {
	res, err := Render(context.Background(), appsRepo, "apps/web/overlays/dev", Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, res)
	d := "Deployment/dev-web"
	expect(t, objs, d, "metadata.namespace", "web-dev")
	expect(t, objs, d, "spec.replicas", 1)
	expect(t, objs, d, "spec.template.spec.containers[0].image", "ghcr.io/example/web:1.0.0")
	// commonLabels reach selectors and templates
	expect(t, objs, d, "spec.selector.matchLabels.env", "dev")
	expect(t, objs, d, "spec.template.metadata.labels.env", "dev")
	expect(t, objs, "Service/dev-web", "spec.selector.env", "dev")
	for k, o := range objs {
		if strings.HasPrefix(k, "ConfigMap/dev-web-config-") {
			expect(t, objs, k, "data.LOG_LEVEL", "debug") // behavior: merge
			if field(o, "data.app\\.properties") != nil {
				t.Errorf("unexpected key")
			}
		}
	}
}

// TestKustomizeOrigins: a decode error of a rendered object names the kustomization and
// the object.
func TestKustomizeOrigins(t *testing.T) {
	fsys := with(appsRepo, "apps/web/base/deployment.yaml", strings.Replace(string(appsRepo["apps/web/base/deployment.yaml"].Data), "replicas: 1", "replcas: 1", 1))
	res, err := Render(context.Background(), fsys, "apps/web/overlays/dev", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = manifest.Parse(res.Files())
	if err == nil || !strings.Contains(err.Error(), "apps/web/overlays/dev/kustomization.yaml: Deployment/dev-web:") {
		t.Errorf("decode error = %v, want one naming the kustomization and the Deployment", err)
	}
	res, err = Render(context.Background(), fsys, "apps/web/overlays/dev", Options{Sources: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = manifest.Parse(res.Files())
	if err == nil || !strings.Contains(err.Error(), "apps/web/overlays/dev/kustomization.yaml: Deployment/dev-web (from apps/web/base/deployment.yaml):") || !strings.Contains(err.Error(), "spec.replcas") {
		t.Errorf("decode error = %v, want one naming the kustomization, the Deployment, its file and spec.replcas", err)
	}
}

// TestKustomizeOriginAnnotationsKept: a kustomization that asks for origin annotations
// gets them, as from kustomize build.
func TestKustomizeOriginAnnotationsKept(t *testing.T) {
	fsys := with(appsRepo, "apps/web/overlays/dev/kustomization.yaml", "resources: [../../base]\nbuildMetadata: [originAnnotations]\n")
	res, err := Render(context.Background(), fsys, "apps/web/overlays/dev", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Docs {
		if !strings.Contains(string(d.Data), "config.kubernetes.io/origin") {
			t.Errorf("%s lost its origin annotation:\n%s", d.Object, d.Data)
		}
	}
}

func TestKustomizeErrors(t *testing.T) {
	prod := "apps/web/overlays/prod/kustomization.yaml"
	prodK := string(appsRepo[prod].Data)
	for _, tc := range []struct {
		name  string
		fsys  fs.FS
		path  string
		file  string // the file the error must name
		wants []string
	}{
		{"broken YAML", with(appsRepo, prod, "resources:\n  - ../../base\n namespace: [x\n"), "apps/web/overlays/prod", prod,
			[]string{prod + ":", "invalid YAML"}},
		{"unknown field", with(appsRepo, prod, "resourcez:\n  - ../../base\n"), "apps/web/overlays/prod", prod,
			[]string{"resourcez"}},
		{"missing base", with(appsRepo, prod, strings.Replace(prodK, "../../base", "../../bsae", 1)), "apps/web/overlays/prod", prod,
			[]string{"resources", "../../bsae", "apps/web/bsae"}},
		{"missing base of a base", with(appsRepo, "apps/web/base/kustomization.yaml", "resources:\n  - deployment.yaml\n  - ../../common\n"), "apps/web/overlays/dev", "apps/web/base/kustomization.yaml", []string{"../../common"}},
		{"remote base (URL)", with(appsRepo, prod, strings.Replace(prodK, "../../base", "https://github.com/example/apps//web/base?ref=v1", 1)), "apps/web/overlays/prod", prod, []string{"remote bases", "https://github.com/example/apps"}},
		{"remote base (github.com)", with(appsRepo, prod, strings.Replace(prodK, "../../base", "github.com/example/apps/web/base?ref=v1", 1)), "apps/web/overlays/prod", prod, []string{"remote bases"}},
		{"remote base (ssh)", with(appsRepo, prod, strings.Replace(prodK, "../../base", "git@github.com:example/apps.git//web/base", 1)), "apps/web/overlays/prod", prod, []string{"remote bases"}},
		{"remote patch file", with(appsRepo, prod, strings.Replace(prodK, "path: deployment-resources.yaml", "path: https://example.com/patch.yaml", 1)), "apps/web/overlays/prod", prod, []string{"patches.path", "remote"}},
		{"outside the repository", with(appsRepo, prod, strings.Replace(prodK, "../../base", "../../../../../base", 1)), "apps/web/overlays/prod", prod, []string{"outside the repository"}},
		{"patch matches nothing", with(appsRepo, "apps/web/overlays/prod/deployment-resources.yaml", strings.Replace(string(appsRepo["apps/web/overlays/prod/deployment-resources.yaml"].Data), "name: web", "name: api", 1)), "apps/web/overlays/prod", prod, []string{"kustomize:", "api"}},
		{"JSON patch on a missing field", with(appsRepo, prod, strings.Replace(prodK, "/spec/ports/0/port", "/spec/ports/3/port", 1)), "apps/web/overlays/prod", prod, []string{"kustomize:"}},
		{"two kustomization files", with(appsRepo, "apps/web/overlays/prod/kustomization.yml", prodK), "apps/web/overlays/prod", prod, []string{"more than one kustomization file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(context.Background(), tc.fsys, tc.path, Options{})
			checkFieldError(t, err, tc.file, tc.wants...)
		})
	}
}

// checkFieldError wants a *manifest.FieldError naming file and saying each of wants.
func checkFieldError(t *testing.T, err error, file string, wants ...string) {
	t.Helper()
	var fe *manifest.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want a *manifest.FieldError", err, err)
	}
	if fe.File != file {
		t.Errorf("error names %q, want %q: %v", fe.File, file, err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	t.Logf("%v", err)
}
