//go:build linux

package process

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// TestPodFileKept: a pod's pod.json is parsed once and kept, but never past a change of
// its file: one replaced (a pod of the same name created again, as a StatefulSet's are)
// or edited by hand in place is read again, and a pod whose folder is gone is
// forgotten. Values from Secrets are never kept.
func TestPodFileKept(t *testing.T) {
	b := New(t.TempDir(), "")
	ctx := context.Background()
	write := func(id, version string, replace bool) {
		t.Helper()
		pf := podFile{PodSpec: backend.PodSpec{Name: "web-0", Namespace: "default", Labels: map[string]string{"v": version},
			Resolved: map[string]*manifest.Resolved{"main": {Refs: map[string]string{"secret": "s3cr3t"}}}}, UID: "uid-" + version}
		data, _ := json.Marshal(pf)
		dir := b.podDir(id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "pod.json")
		if replace {
			if err := writeFile(path, data); err != nil { // a new file
				t.Fatal(err)
			}
		} else if err := os.WriteFile(path, data, 0o600); err != nil { // the same file, edited
			t.Fatal(err)
		}
	}
	version := func() string {
		t.Helper()
		pods, err := b.ListPods(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(pods) != 1 {
			t.Fatalf("%d pods, want 1", len(pods))
		}
		if pods[0].UID != "uid-"+pods[0].Labels["v"] {
			t.Fatalf("pod %+v mixes two versions", pods[0])
		}
		return pods[0].Labels["v"]
	}
	write("default_web-0", "a", true)
	if v := version(); v != "a" {
		t.Fatalf("first listing: %s", v)
	}
	if kept := b.podFiles["default_web-0"].pf; kept == nil || kept.Resolved != nil {
		t.Fatalf("kept %+v: want the pod, without values from Secrets", kept)
	}
	write("default_web-0", "b", true)
	if v := version(); v != "b" {
		t.Fatalf("after the file was replaced: %s, want b", v)
	}
	write("default_web-0", "c", false)
	if v := version(); v != "c" {
		t.Fatalf("after the file was edited in place: %s, want c", v)
	}
	if err := os.RemoveAll(b.podDir("default_web-0")); err != nil {
		t.Fatal(err)
	}
	write("default_web-1", "d", true)
	if v := version(); v != "d" {
		t.Fatalf("another pod: %s", v)
	}
	if _, ok := b.podFiles["default_web-0"]; ok || len(b.podFiles) != 1 {
		t.Fatalf("kept %d pod files, of web-0 too: want only the pod that is there", len(b.podFiles))
	}
}
