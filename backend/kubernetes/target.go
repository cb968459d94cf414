// Package kubernetes is the cluster target: kgit's GitOps layer (reconcile.Syncer) over a
// real Kubernetes cluster, whose own controllers roll. It applies the documents as
// written with server-side apply under the field manager "kgit", keeps one
// ApplySet-compatible parent Secret per app (the inventory and the last syncs), reads
// back what kgit applied from the fields that manager owns, waits for health as kstatus
// defines it, and locks an app with a coordination.k8s.io Lease.
//
// It uses client-go's dynamic client only (no typed clientset, no scheme of every API
// group) and kstatus's status package for health.
package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// Labels and annotations the target puts on every object it applies.
const (
	// FieldManager is the server-side apply field manager of everything kgit applies.
	FieldManager = "kgit"
	// LabelPartOf is the ApplySet member label (value: the parent's ApplySet ID).
	LabelPartOf = "applyset.kubernetes.io/part-of"
	// LabelApplySetID marks the parent object.
	LabelApplySetID = "applyset.kubernetes.io/id"
	// AnnotationCommit is the commit an object (and a pod template) was applied from.
	AnnotationCommit = "kgit.dev/commit"
	// AnnotationChangeCause is what kubectl rollout history shows.
	AnnotationChangeCause = "kubernetes.io/change-cause"

	annTooling        = "applyset.kubernetes.io/tooling"
	annGroupKinds     = "applyset.kubernetes.io/contains-group-kinds"
	annAddNamespaces  = "applyset.kubernetes.io/additional-namespaces"
	labelTemplateHash = "pod-template-hash"
)

// Config says which cluster and app a Target works on.
type Config struct {
	// Kubeconfig is a kubeconfig file; "" follows KUBECONFIG and ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context; "" is the current one.
	Context string
	// Namespace is for objects that name none, and holds the app's parent Secret and
	// Lease; "" is the context's namespace, or "default".
	Namespace string
	// App is the app the target is bound to ("" for read-only use).
	App string
	// Events and Progress receive what the target does and sees.
	Events   reconcile.EventSink
	Progress reconcile.ProgressSink
	// REST, when set, is used instead of the kubeconfig (tests).
	REST *rest.Config
}

// Target is a Kubernetes cluster as a reconcile.Target, bound to one app.
type Target struct {
	reconcile.Emitter
	Progress  reconcile.ProgressSink
	Namespace string
	// Poll is how often Converge reads the cluster while it waits; default 250ms.
	Poll time.Duration

	server string
	rest   *rest.Config
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	expand meta.RESTMapper

	mu       sync.Mutex
	commit   string // the newest commit applied by this process
	changed  bool   // this process applied or pruned something
	reported map[manifest.Key]reconcile.Progress
}

var _ reconcile.Target = (*Target)(nil)

// New connects to the cluster the config names. It checks that the API server answers:
// an unreachable cluster is an error naming the server and the reason.
func New(ctx context.Context, c Config) (*Target, error) {
	cfg := c.REST
	ns := c.Namespace
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if c.Kubeconfig != "" {
			rules.ExplicitPath = c.Kubeconfig
		}
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context})
		var err error
		if cfg, err = cc.ClientConfig(); err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
		if ns == "" {
			ns, _, _ = cc.Namespace()
		}
	}
	if ns == "" {
		ns = manifest.DefaultNamespace
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 100, 200
	cfg.RateLimiter = deadlineLimiter{flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)}
	cfg.UserAgent = "kgit"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %s: %w", cfg.Host, err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %s: %w", cfg.Host, err)
	}
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	t := &Target{
		Emitter:   reconcile.Emitter{Sink: c.Events, App: c.App},
		Progress:  c.Progress,
		Namespace: ns,
		server:    cfg.Host,
		rest:      cfg,
		dyn:       dyn,
		mapper:    mapper,
		expand:    restmapper.NewShortcutExpander(mapper, cached, nil),
		reported:  map[manifest.Key]reconcile.Progress{},
	}
	if _, err := dc.ServerVersion(); err != nil {
		return nil, t.unreachable(err)
	}
	return t, nil
}

// unreachable names the server and the reason an API call failed.
func (t *Target) unreachable(err error) error {
	return &Error{Server: t.server, Err: err}
}

// Error is a cluster that cannot be reached or refused a request for lack of
// permission: the CLI's exit 2.
type Error struct {
	Server string
	Err    error
}

func (e *Error) Error() string {
	switch {
	case apierrors.IsForbidden(e.Err), apierrors.IsUnauthorized(e.Err):
		return fmt.Sprintf("kubernetes: %s: permission denied: %v", e.Server, e.Err)
	}
	return fmt.Sprintf("kubernetes: cannot reach the API server at %s: %v", e.Server, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// wrap marks the errors that mean the cluster is unreachable or refused us.
func (t *Target) wrap(err error) error {
	if err == nil {
		return nil
	}
	var ke *Error
	if errors.As(err, &ke) {
		return err
	}
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || isConnection(err) {
		return t.unreachable(err)
	}
	return err
}

func isConnection(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") || strings.Contains(s, "i/o timeout") || strings.Contains(s, "dial tcp")
}

// Name implements reconcile.Target.
func (t *Target) Name() string { return "kubernetes" }

// Server is the API server's address.
func (t *Target) Server() string { return t.server }

var invalidName = regexp.MustCompile(`[^a-z0-9-]+`)

// objectName makes an app name a valid object name and label value: kgit-APP, lower
// case, with a digest suffix when it had to be changed or shortened.
func objectName(app string) string {
	n := strings.Trim(invalidName.ReplaceAllString(strings.ToLower(app), "-"), "-")
	if n == app && len(n) <= 50 {
		return "kgit-" + n
	}
	sum := sha256.Sum256([]byte(app))
	if len(n) > 40 {
		n = n[:40]
	}
	return "kgit-" + strings.Trim(n, "-") + "-" + hex.EncodeToString(sum[:])[:8]
}

// appLabel is the app's kgit.dev/app label value.
func appLabel(app string) string {
	if len(app) <= 63 && regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`).MatchString(app) {
		return app
	}
	return strings.TrimPrefix(objectName(app), "kgit-")
}

// ParentName is the name of the app's parent Secret (and of its Lease).
func (t *Target) ParentName() string { return objectName(t.App) }

// resource maps a group-kind (or an apiVersion and kind) to its resource.
func (t *Target) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := t.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		t.mapper.Reset() // a CRD applied since discovery was read
		m, err = t.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, t.wrap(err)
	}
	return m, nil
}

func (t *Target) client(m *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		return t.dyn.Resource(m.Resource)
	}
	return t.dyn.Resource(m.Resource).Namespace(ns)
}

// identity is this process as a Lease holder and in sync records.
func identity() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}

func keyOf(u *unstructured.Unstructured) manifest.Key {
	return manifest.Key{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
}

var errNotFound = errors.New("not found")

func notFound(err error) bool { return apierrors.IsNotFound(err) || errors.Is(err, errNotFound) }

var getOpts = metav1.GetOptions{}

func isConflict(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }

// deadlineLimiter is client-go's token bucket, except that a wait which would pass ctx's
// deadline waits for ctx to end and returns its error: the token bucket refuses such a
// wait at once with an error that does not say it is a timeout, so a sync under
// --timeout ended as a failure (exit 1) instead of a timeout (exit 2).
type deadlineLimiter struct{ flowcontrol.RateLimiter }

func (l deadlineLimiter) Wait(ctx context.Context) error {
	if err := l.RateLimiter.Wait(ctx); err != nil {
		<-ctx.Done()
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return nil
}
