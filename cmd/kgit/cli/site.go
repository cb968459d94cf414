package cli

import (
	"context"
	"encoding/json"
	"os"

	"github.com/spf13/pflag"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/kubernetes"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
	"kgit.dev/kgit/reconcile/controller"
)

// KubernetesName is --backend's name for a cluster.
const KubernetesName = "kubernetes"

// site is where apps run: a backend that runs pods, which kgit's own controllers drive
// (process, docker, podman), or a Kubernetes cluster, whose controllers roll. The
// commands that change or diff an app work on either through reconcile.Target.
type site struct {
	name    string
	backend backend.Backend   // a local backend; nil for a cluster
	cluster kubernetes.Config // a cluster
}

// clusterFlags are the cluster's flags: which kubeconfig, context and namespace.
type clusterFlags struct {
	kubeconfig, context, namespace string
}

func (c *clusterFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&c.kubeconfig, "kubeconfig", "", "with --backend kubernetes: the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	fl.StringVar(&c.context, "context", "", "with --backend kubernetes: the kubeconfig context (default: its current one)")
}

// registerNamespace adds --namespace to a command that deploys (get has its own filter).
func (c *clusterFlags) registerNamespace(fl *pflag.FlagSet) {
	fl.StringVarP(&c.namespace, "namespace", "n", "", "the namespace of objects that name none (default: default); on a cluster also that of the app's inventory and lock")
}

// registerReadNamespace adds --namespace to a command that reads one object by name:
// where to look (on a cluster, default: the context's namespace; on a local backend,
// default: every namespace).
func (c *clusterFlags) registerReadNamespace(fl *pflag.FlagSet) {
	fl.StringVarP(&c.namespace, "namespace", "n", "", "the namespace of the object (default: on a cluster the context's, on a local backend any)")
}

func (g *globals) backendChoice() string {
	if g.backendName != "" {
		return g.backendName
	}
	return os.Getenv("KGIT_BACKEND")
}

// site opens where apps run and checks that it is there.
func (g *globals) site(ctx context.Context) (*site, error) {
	if g.backendChoice() == KubernetesName {
		return &site{name: KubernetesName, cluster: kubernetes.Config{Kubeconfig: g.cluster.kubeconfig, Context: g.cluster.context, Namespace: g.objectNamespace()}}, nil
	}
	b, err := g.backend(ctx)
	if err != nil {
		return nil, err
	}
	return &site{name: b.Name(), backend: b}, nil
}

// target is the site as the target of app, reporting to events and progress.
func (s *site) target(ctx context.Context, app string, events reconcile.EventSink, progress reconcile.ProgressSink) (reconcile.Target, error) {
	if s.backend != nil {
		l := controller.New(s.backend, app, events, progress)
		l.Schedulers = schedulersFor(s.backend)
		return l, nil
	}
	c := s.cluster
	c.App, c.Events, c.Progress = app, events, progress
	return kubernetes.New(ctx, c)
}

// capabilities are what the site honours: a cluster honours every field, and what a
// pod may do to its node is the cluster's policy, not kgit's.
func (s *site) capabilities() backend.Capabilities {
	if s.backend != nil {
		return s.backend.Capabilities()
	}
	return backend.Capabilities{}
}

// syncer is the GitOps layer of app over the site, reporting to events and progress.
func (g *globals) syncer(ctx context.Context, s *site, app string, events reconcile.EventSink, progress reconcile.ProgressSink) (*reconcile.Syncer, error) {
	t, err := s.target(ctx, app, events, progress)
	if err != nil {
		return nil, err
	}
	return &reconcile.Syncer{Target: t, Emitter: reconcile.Emitter{Sink: events, App: app}}, nil
}

// objectNamespace is the namespace of objects that name none: --namespace, else default.
func (g *globals) objectNamespace() string {
	if g.cluster.namespace != "" {
		return g.cluster.namespace
	}
	return manifest.DefaultNamespace
}

// inNamespace puts the objects whose document names no namespace in ns (manifest's
// defaulting gave them "default").
func inNamespace(objs []*manifest.Object, ns string) {
	if ns == manifest.DefaultNamespace {
		return
	}
	for _, o := range objs {
		if !o.Kind().Namespaced {
			continue
		}
		var doc struct {
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if json.Unmarshal(o.Raw, &doc) == nil && doc.Metadata.Namespace == "" {
			_, meta := o.Meta()
			meta.Namespace = ns
		}
	}
}
