package render

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"kgit.dev/kgit/manifest"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		fsys        map[string]string
		dir         string
		kind        Kind
		entry       string
		missingPath bool
	}{
		{dir: "apps/web/overlays/prod", kind: Kustomize, entry: "apps/web/overlays/prod/kustomization.yaml"},
		{dir: "./apps/web/base/", kind: Kustomize, entry: "apps/web/base/kustomization.yaml"},
		{dir: "plain", kind: Plain, entry: "plain"},
		{dir: "", kind: Plain, entry: ""},
		{dir: "nope", missingPath: true},
		{dir: "plain.yaml", missingPath: true},
		{fsys: map[string]string{"k/kustomization.yml": "resources: []\n"}, dir: "k", kind: Kustomize, entry: "k/kustomization.yml"},
		{fsys: map[string]string{"k/Kustomization": "resources: []\n"}, dir: "k", kind: Kustomize, entry: "k/Kustomization"},
		{fsys: map[string]string{"c/Chart.yaml": "name: c\n"}, dir: "c", kind: Helm, entry: "c/Chart.yaml"},
		{fsys: map[string]string{"c/Chart.yaml": "name: c\n", "c/kustomization.yaml": "resources: []\n"}, dir: "c", kind: Kustomize, entry: "c/kustomization.yaml"},
	} {
		fsys := appsRepo
		if tc.fsys != nil {
			var files []string
			for k, v := range tc.fsys {
				files = append(files, k, v)
			}
			fsys = repo(files...)
		}
		kind, entry, err := Detect(fsys, tc.dir)
		if tc.missingPath {
			if !errors.Is(err, ErrPathMissing) {
				t.Errorf("Detect(%q): %v, want ErrPathMissing", tc.dir, err)
			}
			continue
		}
		if err != nil || kind != tc.kind || entry != tc.entry {
			t.Errorf("Detect(%q) = %v %q %v, want %v %q", tc.dir, kind, entry, err, tc.kind, tc.entry)
		}
	}
	for _, dir := range []string{"..", "../x", "/etc"} {
		if _, _, err := Detect(appsRepo, dir); err == nil {
			t.Errorf("Detect(%q) accepted a path out of the repository", dir)
		}
	}
}

func TestPlainFolder(t *testing.T) {
	res, err := Render(context.Background(), appsRepo, "plain", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != Plain || len(res.Docs) != 2 || res.Docs[0].Path != "plain/sub/svc.yml" || res.Docs[1].Path != "plain/web.yaml" {
		t.Fatalf("plain folder: %+v", res)
	}
	if res.Docs[1].Rendered || string(res.Docs[1].Data) != string(appsRepo["plain/web.yaml"].Data) {
		t.Errorf("a plain file must flow on whole and unrendered: %+v", res.Docs[1])
	}
	// manifest.Parse still names each document's file and line
	objs, err := manifest.Parse(res.Files())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 || objs[2].File != "plain/web.yaml" || objs[2].Line != 6 {
		t.Errorf("parsed: %v", objs)
	}
}

// TestPlainFolderWithKustomization: a kustomization or chart below a plain folder is not
// read as manifests (the error of issue 14's first line) but named.
func TestPlainFolderWithKustomization(t *testing.T) {
	_, err := Render(context.Background(), appsRepo, "apps", Options{})
	checkFieldError(t, err, "apps/web/base/kustomization.yaml", "kustomize source inside the plain folder apps", "--path")
}

// TestOnDisk renders a checkout through os.DirFS, the other file system render takes.
func TestOnDisk(t *testing.T) {
	dir := writeRepo(t, appsRepo)
	res, err := Render(context.Background(), os.DirFS(dir), "apps/web/overlays/prod", Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, res)
	expect(t, objs, "Deployment/prod-web", "spec.replicas", 3)
	for _, d := range res.Docs {
		if strings.Contains(string(d.Data), dir) {
			t.Errorf("the checkout's location leaked into %s", d.Object)
		}
	}
}
