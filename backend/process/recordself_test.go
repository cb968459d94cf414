//go:build linux

package process

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// TestSupervisorRecordsItselfFirst: a supervisor whose CLI has not recorded it (yet, or
// ever: the CLI died) records itself before it writes its first status, so that a
// reader that finds a status also finds who writes it; a listing in between would call
// the pod lost, and its controller would replace it (seen in a rollout on a busy
// machine). The supervisors here are started as no CLI would leave them, without their
// supervisor.json, and watched for a status without one.
func TestSupervisorRecordsItselfFirst(t *testing.T) {
	b := newBackend(t)
	for i := range 5 {
		id := "default_first-" + string(rune('a'+i))
		dir := b.podDir(id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		spec := manifest.PodSpec{Containers: []manifest.Container{{Name: "main", Command: []string{"sleep", "60"}}}}
		manifest.DefaultPodSpec(&spec)
		data, _ := json.Marshal(podFile{PodSpec: backend.PodSpec{Name: "first", Namespace: "default", Spec: spec,
			Labels: map[string]string{backend.LabelApp: "first"}}, UID: newUID(), Created: time.Now().UTC()})
		if err := os.WriteFile(filepath.Join(dir, "pod.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(b.kgit, SuperviseCommand, "--root", b.root, id)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go cmd.Wait() // reaped here: this test, not init, is its parent
		status, sup := filepath.Join(dir, "status.json"), filepath.Join(dir, "supervisor.json")
		for deadline := time.Now().Add(10 * time.Second); ; {
			if _, err := os.Stat(status); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pod %s: no status after 10 s", id)
			}
		}
		if _, err := os.Stat(sup); err != nil {
			t.Errorf("pod %s: a status without supervisor.json: %v", id, err)
		}
		if err := b.DeletePod(context.Background(), id, 0); err != nil {
			t.Fatal(err)
		}
	}
}
