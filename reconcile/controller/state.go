package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/ingress"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// Annotations kgit keeps on its records, as Kubernetes names them.
const (
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	HashLabel          = "pod-template-hash"
)

// Object is a top-level object as kgit last applied it, read back from its record, with
// what the controllers keep beside it.
type Object struct {
	reconcile.Applied
	Progress reconcile.Progress // a Deployment's (or StatefulSet's) last observed status
	record   backend.Record
	// autoscaled is the replicas an autoscaler gives the object this pass, if any.
	autoscaled *int32
}

// RS is a ReplicaSet record with its pods.
type RS struct {
	RS      *manifest.ReplicaSet
	Created time.Time
	Owner   manifest.Key // the Deployment, or the ReplicaSet itself when declared directly
	Commit  string
	Pods    []*backend.Pod
	// Expected counts the pods this process is creating for the RS, or has created
	// since the listing began, that Pods does not show: Kubernetes' "expectations".
	Expected int
	record   backend.Record
}

// Revision is the RS's deployment.kubernetes.io/revision, 0 when unset.
func (r *RS) Revision() int {
	n := 0
	fmt.Sscan(r.RS.Annotations[RevisionAnnotation], &n)
	return n
}

// Replicas is spec.replicas.
func (r *RS) Replicas() int { return int(*r.RS.Spec.Replicas) }

// Counts are a ReplicaSet's or Deployment's pod counts.
type Counts struct{ Replicas, Ready, Available int }

// Count tallies active pods; a pod is available once ready for minReadySeconds.
func Count(pods []*backend.Pod, minReady int32, now time.Time) Counts {
	var c Counts
	for _, p := range pods {
		if !p.Status.Active() {
			continue
		}
		c.Replicas++
		if p.Status.Ready {
			c.Ready++
			if !p.Status.ReadySince.Add(time.Duration(minReady) * time.Second).After(now) {
				c.Available++
			}
		}
	}
	return c
}

// Counts returns the RS's status counts at now.
func (r *RS) Counts(now time.Time) Counts { return Count(r.Pods, r.RS.Spec.MinReadySeconds, now) }

// State is everything of one app (or of every app) that a backend holds.
type State struct {
	Objects     map[manifest.Key]*Object
	ReplicaSets map[string]*RS // by namespace/name
	Pods        []*backend.Pod // every pod, including those of ReplicaSets
	// Listed is when the listing of the pods began: a pod created before then is in it.
	Listed time.Time
	// Orphans are pods whose owner has no record (a crash between two writes).
	Orphans []*backend.Pod
	// Routes are the Services as the backend routes them (with their addresses); only
	// LoadRoutes reads them, for those who show Services (the controllers need not).
	Routes map[manifest.Key]*backend.Service
	// Ingress is what kgit's ingress controller serves (nil: it does not run); read by
	// LoadRoutes too.
	Ingress *ingress.Status

	owned    map[manifest.Key][]*RS // built on first use
	barePods map[manifest.Key][]*backend.Pod
	ids      map[*manifest.PodTemplateSpec]string
	config   *manifest.ConfigSources
	applied  map[manifest.Key]*reconcile.Applied // Objects' Applied, for the GitOps layer
	// autoscaled holds, by target, the replicas an autoscaler gives (see Autoscaled).
	autoscaled map[manifest.Key]int32
}

// Applied implements reconcile.Live.
func (s *State) Applied() map[manifest.Key]*reconcile.Applied { return s.applied }

// Running implements reconcile.Live: any pod of the app, owned or not.
func (s *State) Running() bool { return len(s.Pods) > 0 }

// put adds or replaces an object; what was derived from the old one is dropped.
func (s *State) put(o *Object) {
	s.Objects[o.Key] = o
	if o.record.Labels[backend.LabelOwnerKind] != cronJobOwnerKind { // a CronJob's Job is not in git
		s.applied[o.Key] = &o.Applied
	}
	s.config, s.autoscaled = nil, nil
	if rs, ok := o.Object.(*manifest.ReplicaSet); ok {
		s.ReplicaSets[rs.Namespace+"/"+rs.Name] = &RS{RS: rs, Created: o.Created, Commit: o.Commit, Owner: o.Key, record: o.record}
		s.owned = nil
	}
}

// Owned returns the ReplicaSets an object owns, oldest first.
func (s *State) Owned(k manifest.Key) []*RS {
	if s.owned == nil {
		s.owned = map[manifest.Key][]*RS{}
		for _, rs := range s.ReplicaSets {
			s.owned[rs.Owner] = append(s.owned[rs.Owner], rs)
		}
		for _, rss := range s.owned {
			sort.Slice(rss, func(i, j int) bool {
				if !rss[i].Created.Equal(rss[j].Created) {
					return rss[i].Created.Before(rss[j].Created)
				}
				return rss[i].RS.Name < rss[j].RS.Name
			})
		}
	}
	return s.owned[k]
}

// PodsOf returns the pods of a bare Pod object (normally one).
func (s *State) PodsOf(k manifest.Key) []*backend.Pod {
	if s.barePods == nil {
		s.barePods = map[manifest.Key][]*backend.Pod{}
		for _, p := range s.Pods {
			if kind := p.Labels[backend.LabelOwnerKind]; kind == "Pod" || ownsPods[kind] {
				key := manifest.Key{Kind: kind, Namespace: p.Namespace, Name: p.Labels[backend.LabelOwner]}
				s.barePods[key] = append(s.barePods[key], p)
			}
		}
	}
	return s.barePods[k]
}

// templateID identifies a template without its pod-template-hash label; it is computed
// once per template of a state.
func (s *State) templateID(t *manifest.PodTemplateSpec) string {
	if s.ids == nil {
		s.ids = map[*manifest.PodTemplateSpec]string{}
	}
	id, ok := s.ids[t]
	if !ok {
		id = TemplateHash(stripHash(t), 0)
		s.ids[t] = id
	}
	return id
}

// sameTemplate reports whether a ReplicaSet runs a Deployment's template.
func (s *State) sameTemplate(rs *RS, d *manifest.Deployment) bool {
	return s.templateID(&rs.RS.Spec.Template) == s.templateID(&d.Spec.Template)
}

// ownsPods are the kinds whose pods are labelled with them as owner (no ReplicaSet
// between): kgit.dev/owner-kind and kgit.dev/owner name the object.
var ownsPods = map[string]bool{statefulSetOwnerKind: true, "Job": true}

// Load reads an app's records and pods from the backend ("" app: every app).
func Load(ctx context.Context, b backend.Backend, app string) (*State, error) {
	sel := map[string]string{backend.LabelManagedBy: backend.ManagedBy}
	if app != "" {
		sel[backend.LabelApp] = app
	}
	records, err := b.ListRecords(ctx, sel)
	if err != nil {
		return nil, err
	}
	listed := time.Now()
	pods, err := b.ListPods(ctx, sel)
	if err != nil {
		return nil, err
	}
	s := &State{Objects: map[manifest.Key]*Object{}, applied: map[manifest.Key]*reconcile.Applied{}, ReplicaSets: map[string]*RS{}, Pods: pods, Listed: listed}
	for _, r := range records {
		if err := s.addRecord(r); err != nil {
			return nil, err
		}
	}
	for _, p := range pods {
		if rs := s.ReplicaSets[p.Namespace+"/"+rsNameOf(p)]; rs != nil && rs.record.Labels[backend.LabelApp] == p.Labels[backend.LabelApp] {
			rs.Pods = append(rs.Pods, p)
		} else if kind := p.Labels[backend.LabelOwnerKind]; kind != "Pod" && (!ownsPods[kind] ||
			s.Objects[manifest.Key{Kind: kind, Namespace: p.Namespace, Name: p.Labels[backend.LabelOwner]}] == nil) {
			s.Orphans = append(s.Orphans, p)
		}
	}
	return s, nil
}

// dropPods removes from the state the pods gone reports.
func (s *State) dropPods(gone func(*backend.Pod) bool) {
	keep := func(pods []*backend.Pod) []*backend.Pod {
		out := make([]*backend.Pod, 0, len(pods)) // not in place: the listing may be shared
		for _, p := range pods {
			if !gone(p) {
				out = append(out, p)
			}
		}
		return out
	}
	s.Pods, s.Orphans = keep(s.Pods), keep(s.Orphans)
	for _, rs := range s.ReplicaSets {
		rs.Pods = keep(rs.Pods)
	}
	s.barePods = nil
}

// LoadRoutes reads the app's Service routes from a backend that routes Services.
func (s *State) LoadRoutes(ctx context.Context, b backend.Backend, app string) error {
	s.Routes = map[manifest.Key]*backend.Service{}
	if h, ok := backend.IngressHostOf(b); ok {
		s.Ingress = ingress.ReadStatus(h.IngressDir())
	}
	router, ok := backend.RouterOf(b)
	if !ok {
		return nil
	}
	routes, err := router.Routes(ctx, map[string]string{backend.LabelApp: app})
	if err != nil {
		return err
	}
	for _, rt := range routes {
		s.Routes[manifest.Key{Kind: "Service", Namespace: rt.Namespace, Name: rt.Name}] = rt
	}
	return nil
}

func (s *State) addRecord(r backend.Record) error {
	key := manifest.Key{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
	bad := func(err error) error {
		return fmt.Errorf("record %s/%s/%s is unreadable: %w", r.Kind, r.Namespace, r.Name, err)
	}
	commit := r.Labels[backend.LabelCommit]
	if ok := r.Labels[backend.LabelOwnerKind]; r.Kind == "ReplicaSet" && (ok == "Deployment" || ok == "DaemonSet") {
		rs := &RS{RS: new(manifest.ReplicaSet), Created: r.Created, Commit: commit, record: r,
			Owner: manifest.Key{Kind: ok, Namespace: r.Namespace, Name: r.Labels[backend.LabelOwner]}}
		if err := json.Unmarshal(r.Data, rs.RS); err != nil {
			return bad(err)
		}
		s.ReplicaSets[r.Namespace+"/"+r.Name] = rs
		return nil
	}
	a := &Object{Applied: reconcile.Applied{Key: key, Commit: commit, Created: r.Created, Data: r.Data}, record: r}
	if a.Object = manifest.New(r.Kind); a.Object == nil {
		return bad(fmt.Errorf("unknown kind"))
	}
	if err := json.Unmarshal(r.Data, a.Object); err != nil {
		return bad(err)
	}
	if len(r.Status) > 0 {
		if err := json.Unmarshal(r.Status, &a.Progress); err != nil {
			return bad(err)
		}
	}
	s.put(a)
	return nil
}

// rsNameOf returns the name of the ReplicaSet a pod belongs to ("" for a bare pod).
func rsNameOf(p *backend.Pod) string {
	switch p.Labels[backend.LabelOwnerKind] {
	case "Deployment", "DaemonSet":
		return p.Labels[backend.LabelOwner] + "-" + p.Labels[backend.LabelHash]
	case "ReplicaSet":
		return p.Labels[backend.LabelOwner]
	}
	return ""
}

// DeploymentStatus is a Deployment's status, computed from its ReplicaSets.
type DeploymentStatus struct {
	Replicas, Updated, Ready, Available int
	NewRS                               *RS
	Revision                            int
}

// StatusOf computes at now the status of the Deployment (or the DaemonSet standing in as
// one) whose owner key is k.
func (s *State) StatusOf(k manifest.Key, d *manifest.Deployment, now time.Time) DeploymentStatus {
	var st DeploymentStatus
	for _, rs := range s.Owned(k) {
		c := Count(rs.Pods, d.Spec.MinReadySeconds, now)
		st.Replicas += c.Replicas
		st.Ready += c.Ready
		st.Available += c.Available
		if s.sameTemplate(rs, d) && st.NewRS == nil {
			st.NewRS = rs
			st.Updated = c.Replicas
			st.Revision = rs.Revision()
		}
	}
	return st
}

// equalIgnoreHash compares two templates without their pod-template-hash labels.
func equalIgnoreHash(a, b *manifest.PodTemplateSpec) bool {
	return TemplateHash(stripHash(a), 0) == TemplateHash(stripHash(b), 0)
}

func stripHash(t *manifest.PodTemplateSpec) *manifest.PodTemplateSpec {
	if _, ok := t.Labels[HashLabel]; !ok {
		return t
	}
	c := *t
	c.Labels = map[string]string{}
	for k, v := range t.Labels {
		if k != HashLabel {
			c.Labels[k] = v
		}
	}
	return &c
}

// Apps lists the apps that have records or pods on a backend.
func Apps(ctx context.Context, b backend.Backend) ([]string, error) {
	sel := map[string]string{backend.LabelManagedBy: backend.ManagedBy}
	records, err := b.ListRecords(ctx, sel)
	if err != nil {
		return nil, err
	}
	pods, err := b.ListPods(ctx, sel)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range records {
		seen[r.Labels[backend.LabelApp]] = true
	}
	for _, p := range pods {
		seen[p.Labels[backend.LabelApp]] = true
	}
	apps := make([]string, 0, len(seen))
	for a := range seen {
		apps = append(apps, a)
	}
	sort.Strings(apps)
	return apps, nil
}

// resolve returns what a pod spec takes from the app's ConfigMaps and Secrets (its pull
// secrets included), as last applied; nil when it takes nothing.
func (s *State) resolve(ns string, spec *manifest.PodSpec) (*manifest.PodValues, error) {
	if !manifest.Uses(spec) && len(manifest.PullSecretNames(spec)) == 0 {
		return nil, nil
	}
	if s.config == nil {
		var objs []any
		for _, a := range s.Objects {
			objs = append(objs, a.Object)
		}
		s.config = manifest.NewConfigSources(objs)
	}
	return s.config.ForPod(ns, spec)
}

// RolloutStatus is kubectl rollout status's message for the Deployment k at now, from
// its pods and the progress last recorded; the deadline is judged now, so a rollout
// nobody is syncing still fails. done: the rollout finished; failed: its progress
// deadline was exceeded.
func (s *State) RolloutStatus(k manifest.Key, now time.Time) (msg string, done, failed bool, err error) {
	a := s.Objects[k]
	if a == nil {
		return "", false, false, fmt.Errorf("deployment %q not found", k.Name)
	}
	d, ok := a.Object.(*manifest.Deployment)
	if !ok {
		return "", false, false, fmt.Errorf("%s is not a Deployment", k)
	}
	d = autoscaled(s, k, d, func(d *manifest.Deployment) **int32 { return &d.Spec.Replicas })
	ds := s.StatusOf(k, d, now)
	cur := reconcile.Progress{Replicas: ds.Replicas, Updated: ds.Updated, Ready: ds.Ready, Available: ds.Available}
	newRS := ""
	if ds.NewRS != nil {
		newRS = ds.NewRS.RS.Name
	}
	cur.Progressing = SyncRolloutStatus(d, a.Progress, cur, newRS, now)
	msg, done, failed = reconcile.RolloutStatus(d.Name, int(*d.Spec.Replicas), cur)
	return msg, done, failed, nil
}
