//go:build linux

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/process"
)

// TestSteadySync checks the steady sync (cmd/kgit/cli/steady.go): a sync that changed
// nothing leaves a verdict, the next sync of the same commit is that no-op without a
// full pass, and yet it still sees a dead pod, a deleted pod and a record edited by
// hand, and a corrupt verdict only costs a full sync.
//
// Which path a sync took is told by a mark: the verdict's warnings are replaced by
// "steady-marker", which only a sync that trusted the verdict prints (a full sync prints
// the warnings of the manifests, here none).
func TestSteadySync(t *testing.T) {
	e := newRolloutEnv(t)
	e.app = "steady"
	e.commitN(2, "v1", rolling25, readyProbe, 600)
	sync := func(t *testing.T, when string) string {
		t.Helper()
		code, errs := e.kgit("sync", "--timeout", "60s")
		if code != 0 {
			t.Fatalf("%s: sync: exit %d\n%s", when, code, errs)
		}
		return errs
	}
	verdict := func(t *testing.T) string {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(os.Getenv("KGIT_STATE_DIR"), "steady", "*.json"))
		if len(files) != 1 {
			return ""
		}
		return files[0]
	}
	// mark drops the verdict (a lost one: the sync is in full), runs a no-op sync, which
	// must leave a verdict, and marks it.
	mark := func(t *testing.T, when string) {
		t.Helper()
		if path := verdict(t); path != "" {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
		if errs := sync(t, when+": the full no-op sync"); strings.Contains(errs, "steady-marker") {
			t.Fatalf("%s: a lost verdict was trusted:\n%s", when, errs)
		}
		path := verdict(t)
		if path == "" {
			t.Fatalf("%s: a sync that changed nothing left no verdict", when)
		}
		var v map[string]any
		data, err := os.ReadFile(path)
		if err == nil {
			err = json.Unmarshal(data, &v)
		}
		if err != nil {
			t.Fatal(err)
		}
		v["warnings"] = []string{"steady-marker"}
		data, _ = json.Marshal(v)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := process.New(e.root, "")
	pods := func(t *testing.T) []*backend.Pod {
		t.Helper()
		pods, err := b.ListPods(context.Background(), map[string]string{backend.LabelApp: "steady"})
		if err != nil || len(pods) != 2 {
			t.Fatalf("pods: %d, %v; want 2", len(pods), err)
		}
		return pods
	}

	if errs := sync(t, "first sync"); !strings.Contains(errs, "Created pod") {
		t.Fatalf("the first sync created no pod:\n%s", errs)
	}
	if verdict(t) != "" {
		t.Fatal("a sync that created pods left a verdict")
	}
	mark(t, "steady")
	if errs := sync(t, "steady"); !strings.Contains(errs, "steady-marker") || !strings.Contains(errs, "synced") {
		t.Fatalf("an unchanged app on an unchanged backend was synced in full:\n%s", errs)
	}

	t.Run("dead pod", func(t *testing.T) {
		mark(t, "dead pod")
		var sup process.Proc
		data, err := os.ReadFile(filepath.Join(e.root, "pods", pods(t)[0].ID, "supervisor.json"))
		if err == nil {
			err = json.Unmarshal(data, &sup)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(sup.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); sup.Alive(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the killed supervisor still runs")
			}
		}
		errs := sync(t, "dead pod")
		if strings.Contains(errs, "steady-marker") || !strings.Contains(errs, "supervisor process is gone") || !strings.Contains(errs, "Created pod") {
			t.Errorf("a sync after a pod's supervisor died did not replace the pod:\n%s", errs)
		}
	})

	t.Run("deleted pod", func(t *testing.T) {
		mark(t, "deleted pod")
		if err := b.DeletePod(context.Background(), pods(t)[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		errs := sync(t, "deleted pod")
		if strings.Contains(errs, "steady-marker") || !strings.Contains(errs, "Created pod") {
			t.Errorf("a sync after a pod was deleted did not replace it:\n%s", errs)
		}
		pods(t)
	})

	t.Run("record edited by hand", func(t *testing.T) {
		mark(t, "drift")
		path := filepath.Join(e.root, "records", "steady", "records.jsonl")
		before, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// the Deployment's last line, as a user finds it in the log
		lines := strings.SplitAfter(string(data), "\n")
		last := -1
		for i, l := range lines {
			if strings.HasPrefix(l, `{"Kind":"Deployment","Namespace":"default","Name":"web",`) {
				last = i
			}
		}
		if last < 0 {
			t.Fatalf("no line for the Deployment in %s:\n%s", path, data)
		}
		drifted := strings.Replace(lines[last], `"image":"example.com/web:v1"`, `"image":"example.com/web:h1"`, 1)
		if drifted == lines[last] {
			t.Fatalf("no image in the record: %s", lines[last])
		}
		lines[last] = drifted
		// in place (the same inode), of the same size, and with its modification time put
		// back: only its change time tells
		if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, before.ModTime(), before.ModTime()); err != nil {
			t.Fatal(err)
		}
		errs := sync(t, "drift")
		if strings.Contains(errs, "steady-marker") || !strings.Contains(errs, "deployment.apps/web configured") {
			t.Errorf("a sync after a record was edited by hand did not apply git again:\n%s", errs)
		}
		recs, err := b.ListRecords(context.Background(), map[string]string{backend.LabelApp: "steady"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Kind == "Deployment" && r.Name == "web" && strings.Contains(string(r.Data), "web:h1") {
				t.Errorf("the record still holds the hand edit: %s", r.Data)
			}
		}
	})

	t.Run("corrupt verdict", func(t *testing.T) {
		mark(t, "corrupt")
		path := verdict(t)
		if err := os.WriteFile(path, []byte(`{"key": "steady/1`), 0o600); err != nil {
			t.Fatal(err)
		}
		if errs := sync(t, "corrupt"); strings.Contains(errs, "steady-marker") {
			t.Errorf("a corrupt verdict was trusted:\n%s", errs)
		}
		var v map[string]any
		data, _ := os.ReadFile(verdict(t))
		if err := json.Unmarshal(data, &v); err != nil || v["fingerprint"] == "" {
			t.Errorf("the full sync after a corrupt verdict left no sound one: %s", data)
		}
		// a verdict of another commit is not this one's
		mark(t, "new commit")
		e.commitN(2, "v1", rolling25, readyProbe+" # v2", 600)
		if errs := sync(t, "new commit"); strings.Contains(errs, "steady-marker") || !strings.Contains(errs, "Created pod") {
			t.Errorf("a new commit was not synced in full:\n%s", errs)
		}
	})
}
