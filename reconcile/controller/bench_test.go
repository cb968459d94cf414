package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"kgit.dev/kgit/backend/memory"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

func manyDeployments(b *testing.B, n int) []*manifest.Object {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-%d}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: a%d}}\n  template:\n    metadata: {labels: {app: a%d}}\n    spec: {containers: [{name: c, image: \"i:%d\", command: [sleep, \"1\"]}]}\n", i, i, i, i)
	}
	objs, err := manifest.Parse([]manifest.File{{Path: "a.yaml", Data: []byte(sb.String())}})
	if err != nil {
		b.Fatal(err)
	}
	return objs
}

// BenchmarkTemplateHash hashes one defaulted pod template.
func BenchmarkTemplateHash(b *testing.B) {
	t := &manyDeployments(b, 1)[0].Obj.(*manifest.Deployment).Spec.Template
	b.ReportAllocs()
	for b.Loop() {
		TemplateHash(t, 0)
	}
}

// BenchmarkNoopSync1000 is a sync of 1000 Deployments (replicas 0) that changes
// nothing, on the memory backend: what a cron sync costs beyond git and the backend.
func BenchmarkNoopSync1000(b *testing.B) {
	objs := manyDeployments(b, 1000)
	r := New(memory.New(), "bench", nil, nil)
	ctx := context.Background()
	if err := r.Sync(ctx, objs, reconcile.SyncOptions{Commit: "c", Prune: true}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Sync(ctx, objs, reconcile.SyncOptions{Commit: "c", Prune: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiff1000 diffs 1000 live Deployments against git, one of them changed.
func BenchmarkDiff1000(b *testing.B) {
	objs := manyDeployments(b, 1000)
	r := New(memory.New(), "bench", nil, nil)
	ctx := context.Background()
	if err := r.Sync(ctx, objs, reconcile.SyncOptions{Commit: "c", Prune: true}); err != nil {
		b.Fatal(err)
	}
	st, err := Load(ctx, r.Backend, "bench")
	if err != nil {
		b.Fatal(err)
	}
	changed := manyDeployments(b, 1000)
	changed[500].Obj.(*manifest.Deployment).Spec.Template.Spec.Containers[0].Image = "i:changed"
	b.ReportAllocs()
	for b.Loop() {
		diffs, err := reconcile.Diff(st, changed, true)
		if err != nil || len(diffs) != 1 {
			b.Fatalf("%d diffs, %v", len(diffs), err)
		}
	}
}
