//go:build linux

package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/proxy"
)

// readyPods reads, from the pods' folders, which pods of a Service are ready. pod.json
// never changes, so it is parsed once per file (Backend.readPodFile); status.json is
// read again only when the supervisor has rewritten it (another inode, time or size).
type readyPods struct {
	b    *Backend
	svc  *backend.Service
	pods map[string]*cachedPod
}

type cachedPod struct {
	pf     *podFile
	status fileID // of the status.json last read
	ready  bool   // what it said
}

func (r *readyPods) endpoints(ctx context.Context) (map[int32][]string, error) {
	podsDir := filepath.Join(r.b.root, "pods")
	entries, err := os.ReadDir(podsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	eps := map[int32][]string{}
	var ids []string
	for _, e := range entries {
		id := e.Name()
		if strings.HasPrefix(id, ".") { // a pod being made (.new-) or removed (.gone-)
			continue
		}
		pf, err := r.b.readPodFile(id)
		if err != nil {
			continue
		}
		ids = append(ids, id)
		c, ok := r.pods[id]
		if !ok || c.pf != pf {
			c = &cachedPod{pf: pf}
			r.pods[id] = c
		}
		if !proxy.Selects(r.svc, c.pf.Namespace, c.pf.Labels) {
			continue
		}
		statusPath := filepath.Join(podsDir, id, "status.json")
		if sid, err := fileIDOf(statusPath); err != nil {
			continue
		} else if sid != c.status {
			var status statusFile
			if readStatus(filepath.Join(podsDir, id), &status) != nil {
				continue
			}
			c.status = sid
			c.ready = !status.Stopping && (status.Ready || r.svc.Spec.PublishNotReadyAddresses && status.Phase == backend.PodRunning)
		}
		if c.ready && !fileExists(filepath.Join(podsDir, id, "terminating")) {
			proxy.Add(eps, r.svc, &c.pf.Spec, c.pf.PodIP)
		}
	}
	r.b.forgetPodFiles(ids)
	keepOnly(r.pods, ids)
	return eps, nil
}

// Proxy serves one Service until it is told to stop or its folder is removed. It is the
// body of the hidden `kgit __proxy` command, and it outlives the CLI that started it.
func Proxy(root, id string) error {
	b := New(root, "")
	dir := b.serviceDir(id)
	var svc backend.Service
	if err := readJSON(filepath.Join(dir, "service.json"), &svc); err != nil {
		return fmt.Errorf("proxy %s: %w", id, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { // the Service was removed without us
		for ctx.Err() == nil {
			time.Sleep(time.Second)
			if _, err := os.Stat(filepath.Join(dir, "service.json")); errors.Is(err, fs.ErrNotExist) {
				stop()
			}
		}
	}()
	pods := &readyPods{b: b, svc: &svc, pods: map[string]*cachedPod{}}
	return proxy.Serve(ctx, &svc, proxy.Refresh, pods.endpoints, func(pending string) {
		// The proxy records itself: the CLI that started it may die before it could.
		if self, err := identify(os.Getpid()); err == nil {
			_ = writeJSON(filepath.Join(dir, "proxy.json"), self)
		}
		proxy.Listening(pending)
	})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
