package kubernetes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kgit.dev/kgit/backend"
)

var leaseGVR = schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}

// LeaseDuration is how long a Lease holds without renewal; the holder renews it every
// third of that. A sync whose process died is taken over once its Lease expired.
var LeaseDuration = 30 * time.Second

const microTime = "2006-01-02T15:04:05.000000Z07:00"

// Lock implements reconcile.Target: a coordination.k8s.io/v1 Lease named after the
// app's parent Secret, in its namespace. The holder renews it until released; an
// expired Lease is taken over. While another holds it, Lock retries until wait has
// passed, then fails with a *backend.LockedError.
func (t *Target) Lock(ctx context.Context, wait time.Duration) (func(), error) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	holder := identity() + "/" + hex.EncodeToString(b[:])
	deadline := time.Now().Add(wait)
	for {
		locked, err := t.tryLock(ctx, holder)
		if err != nil {
			return nil, err
		}
		if locked == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, locked
		}
		select {
		case <-ctx.Done():
			return nil, locked
		case <-time.After(min(time.Second, time.Until(deadline)+10*time.Millisecond)):
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(LeaseDuration / 3):
				rctx, cancel := context.WithTimeout(context.Background(), LeaseDuration/3)
				_, _ = t.tryLock(rctx, holder)
				cancel()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := t.dyn.Resource(leaseGVR).Namespace(t.Namespace)
			if u, err := c.Get(ctx, t.ParentName(), getOpts); err == nil && leaseHolder(u) == holder {
				rv := u.GetResourceVersion()
				_ = c.Delete(ctx, t.ParentName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
			}
		})
	}, nil
}

func leaseHolder(u *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(u.Object, "spec", "holderIdentity")
	return s
}

// tryLock takes or renews the Lease for holder; it returns a *backend.LockedError when
// another holder's Lease has not expired. Writes are guarded by resourceVersion, so
// two takers never both win.
func (t *Target) tryLock(ctx context.Context, holder string) (*backend.LockedError, error) {
	c := t.dyn.Resource(leaseGVR).Namespace(t.Namespace)
	now := time.Now().UTC()
	spec := map[string]any{
		"holderIdentity":       holder,
		"leaseDurationSeconds": int64(LeaseDuration / time.Second),
		"renewTime":            now.Format(microTime),
	}
	u, err := c.Get(ctx, t.ParentName(), getOpts)
	if notFound(err) {
		spec["acquireTime"] = now.Format(microTime)
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
			"metadata": map[string]any{"name": t.ParentName(), "namespace": t.Namespace,
				"labels": map[string]any{"kgit.dev/managed-by": "kgit", "kgit.dev/app": appLabel(t.App)}},
			"spec": spec,
		}}
		if _, err := c.Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
			if isConflict(err) {
				return t.tryLock(ctx, holder)
			}
			return nil, t.wrap(err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, t.wrap(err)
	}
	cur := leaseHolder(u)
	acquired, _, _ := unstructured.NestedString(u.Object, "spec", "acquireTime")
	renewed, _, _ := unstructured.NestedString(u.Object, "spec", "renewTime")
	secs, _, _ := unstructured.NestedInt64(u.Object, "spec", "leaseDurationSeconds")
	rt, _ := time.Parse(microTime, renewed)
	expired := rt.Add(time.Duration(secs) * time.Second).Before(now)
	if cur != holder && cur != "" && !expired {
		since, _ := time.Parse(microTime, acquired)
		return &backend.LockedError{App: t.App, Holder: fmt.Sprintf("%s, Lease %s/%s", cur, t.Namespace, t.ParentName()), Since: since}, nil
	}
	if cur == holder && acquired != "" {
		spec["acquireTime"] = acquired
	} else {
		spec["acquireTime"] = now.Format(microTime)
	}
	u.Object["spec"] = spec
	if _, err := c.Update(ctx, u, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		if isConflict(err) {
			return t.tryLock(ctx, holder)
		}
		return nil, t.wrap(err)
	}
	return nil, nil
}
