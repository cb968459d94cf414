package cli

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/ingress"
	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/cmd/kgit/cli/kubeprint"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
	"kgit.dev/kgit/reconcile/controller"
)

// kindOf resolves a kind as get and describe accept it (its name, plural or short name
// as kubectl spells them, optionally qualified by the group) by the kinds table.
func kindOf(s string) (string, error) {
	if k, ok := manifest.LookupKind(s); ok {
		return k.Kind, nil
	}
	return "", invalid("unknown resource type %q (supported: %s, and any kind the app's manifests hold)", s, kindList())
}

// kindList names the modelled kinds as kubectl lists resources: pods (po), ...
func kindList() string {
	var names []string
	for _, k := range manifest.Kinds() {
		if k.Modelled() {
			names = append(names, kindNames(k))
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func kindNames(k *manifest.Kind) string {
	if len(k.ShortNames) == 0 {
		return k.Plural
	}
	return k.Plural + " (" + strings.Join(k.ShortNames, ",") + ")"
}

// customKind resolves a name the kinds table does not know against the kinds of the
// records in states: a custom resource's kind, its guessed plural, or the names its
// CustomResourceDefinition gives it.
func customKind(name string, states []*controller.State) (string, bool) {
	var objs []*manifest.Object
	for _, st := range states {
		for _, a := range st.Objects {
			objs = append(objs, &manifest.Object{Obj: a.Object})
		}
	}
	crds := manifest.CustomKinds(objs)
	for _, o := range objs {
		t, _ := o.Meta()
		k := manifest.KindOf(t.APIVersion, t.Kind, crds)
		for _, n := range append([]string{k.Kind, k.Plural, k.Resource(), strings.ToLower(k.Kind) + "." + k.Group}, k.ShortNames...) {
			if strings.EqualFold(n, name) {
				return k.Kind, true
			}
		}
	}
	return "", false
}

// view is one object as get and describe show it: obj is Kubernetes-shaped (what -o
// json prints and kubeprint reads), related are the objects describe reads beside it.
// The typed fields serve logs and rollout.
type view struct {
	kind, app, name, namespace string
	labels, annotations        map[string]string
	created                    time.Time
	obj                        any
	related                    []any
	pod                        *backend.Pod
	deploy                     *manifest.Deployment
	dstatus                    controller.DeploymentStatus
	progress                   reconcile.Progress // as last recorded by a sync
}

// views returns every object of a kind in one app's state, sorted by name, each with
// its Kubernetes-shaped object. It is the one place that turns kgit's local state into
// the objects the API would return, status included.
func views(st *controller.State, app, kind string, now time.Time) []view {
	var out []view
	switch kind {
	case "Pod":
		for _, p := range st.Pods {
			out = append(out, view{kind: kind, app: app, name: p.Name, namespace: p.Namespace,
				labels: userLabels(p.Labels), annotations: p.Annotations, created: p.Created, obj: podObject(p, now), pod: p})
		}
	case "ReplicaSet":
		for _, rs := range st.ReplicaSets {
			out = append(out, view{kind: kind, app: app, name: rs.RS.Name, namespace: rs.RS.Namespace,
				labels: rs.RS.Labels, annotations: rs.RS.Annotations, created: rs.Created, obj: rsObject(rs, now)})
		}
	default:
		for _, a := range st.Objects {
			if a.Key.Kind == kind {
				out = append(out, appliedView(st, app, a, now))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].namespace+"/"+out[i].name < out[j].namespace+"/"+out[j].name })
	return out
}

// rsObject is a ReplicaSet as the API returns it: its owner, the commit kgit labels it
// with, and its status.
func rsObject(rs *controller.RS, now time.Time) map[string]any {
	c := rs.Counts(now)
	meta := metadata(&rs.RS.ObjectMeta, rs.Created)
	meta["labels"] = withKey(rs.RS.Labels, backend.LabelCommit, rs.Commit)
	if rs.Owner.Kind != "ReplicaSet" {
		meta["ownerReferences"] = []map[string]any{{"apiVersion": "apps/v1", "kind": rs.Owner.Kind, "name": rs.Owner.Name, "controller": true}}
	}
	return map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
		"spec": rs.RS.Spec, "status": map[string]any{"replicas": c.Replicas, "readyReplicas": c.Ready, "availableReplicas": c.Available}}
}

// appliedView is an object applied from git, with the status kgit's controllers give it.
func appliedView(st *controller.State, app string, a *controller.Object, now time.Time) view {
	_, m := (&manifest.Object{Obj: a.Object}).Meta()
	v := view{kind: a.Key.Kind, app: app, name: m.Name, namespace: m.Namespace, labels: m.Labels, annotations: m.Annotations, created: a.Created}
	switch obj := a.Object.(type) {
	case *manifest.ConfigMap, *manifest.Secret:
		v.obj = configObject(obj)
	case *manifest.Service:
		spec := obj.Spec
		if route := st.Routes[a.Key]; route != nil {
			spec.ClusterIP = route.ClusterIP
			spec.Ports = append([]manifest.ServicePort(nil), spec.Ports...)
			for i := range spec.Ports {
				spec.Ports[i].NodePort = route.NodePorts[spec.Ports[i].Port]
			}
		}
		status := map[string]any{"loadBalancer": map[string]any{}}
		if route := st.Routes[a.Key]; route != nil && route.LoadBalancer != "" {
			status["loadBalancer"] = map[string]any{"ingress": []map[string]any{{"ip": route.LoadBalancer, "ipMode": "VIP"}}}
		}
		v.obj = map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": metadata(m, a.Created), "spec": spec, "status": status}
		v.related = []any{endpointsObject(st, obj)}
	case *manifest.Ingress:
		v.obj = map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata(m, a.Created), "spec": obj.Spec,
			"status": ingressStatus(st.Ingress, app, obj)}
	case *manifest.DaemonSet:
		s := st.StatusOf(a.Key, controller.AsDeployment(obj), now)
		status := map[string]any{"desiredNumberScheduled": 1, "currentNumberScheduled": s.Replicas, "numberReady": s.Ready,
			"updatedNumberScheduled": s.Updated, "numberAvailable": s.Available}
		v.obj = map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": metadata(m, a.Created), "spec": obj.Spec, "status": status}
	case *manifest.HorizontalPodAutoscaler:
		target := manifest.Key{Kind: obj.Spec.ScaleTargetRef.Kind, Namespace: obj.Namespace, Name: obj.Spec.ScaleTargetRef.Name}
		n, _ := st.Autoscaled(target)
		status := map[string]any{"desiredReplicas": n}
		hs := a.HPAStatusOf()
		if hs.CurrentCPU != nil {
			status["currentMetrics"] = []any{map[string]any{"type": "Resource",
				"resource": map[string]any{"name": "cpu", "current": map[string]any{"averageUtilization": *hs.CurrentCPU}}}}
		}
		if !hs.LastScaleTime.IsZero() {
			status["lastScaleTime"] = hs.LastScaleTime
		}
		if t := st.Objects[target]; t != nil {
			status["currentReplicas"] = controller.Count(append(st.PodsOf(target), podsOfOwned(st, target)...), 0, now).Replicas
		}
		v.obj = map[string]any{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata(m, a.Created), "spec": obj.Spec, "status": status}
	case *manifest.StatefulSet:
		c := controller.Count(st.PodsOf(a.Key), obj.Spec.MinReadySeconds, now)
		status := map[string]any{"replicas": c.Replicas, "readyReplicas": c.Ready, "availableReplicas": c.Available,
			"currentRevision": obj.Name + "-" + a.Progress.CurrentRevision, "updatedReplicas": a.Progress.Updated}
		v.obj = map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata(m, a.Created), "spec": obj.Spec, "status": status}
	case *manifest.Job:
		v.obj = jobObject(obj, m, a)
	case *manifest.CronJob:
		v.obj = cronJobObject(st, obj, m, a)
	case *manifest.PersistentVolumeClaim:
		v.obj = claimObject(obj, m, a.Created)
	case *manifest.Deployment:
		if n, ok := st.Autoscaled(a.Key); ok { // an autoscaler sets spec.replicas, as in Kubernetes
			c := *obj
			c.Spec.Replicas = &n
			obj = &c
		}
		s := st.StatusOf(a.Key, obj, now)
		meta := metadata(m, a.Created)
		if s.Revision > 0 {
			meta["annotations"] = withKey(obj.Annotations, controller.RevisionAnnotation, fmt.Sprint(s.Revision))
		}
		status := map[string]any{"replicas": s.Replicas, "updatedReplicas": s.Updated, "readyReplicas": s.Ready, "availableReplicas": s.Available}
		if c := a.Progress.Progressing; c != nil {
			status["conditions"] = []*reconcile.Condition{c}
		}
		v.obj = map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": obj.Spec, "status": status}
		for _, rs := range st.Owned(a.Key) {
			v.related = append(v.related, rsObject(rs, now))
		}
		v.deploy, v.dstatus, v.progress = obj, s, a.Progress
	default:
		// A kind kgit keeps as a record: the document as written, and when it was applied.
		o, err := kubeprint.ObjectOf(a.Object)
		if err != nil {
			o = kubeprint.Object{"apiVersion": "", "kind": a.Key.Kind, "metadata": map[string]any{}}
		}
		md, _ := o["metadata"].(map[string]any)
		md["creationTimestamp"] = a.Created.UTC().Format(time.RFC3339)
		v.obj = o
	}
	return v
}

// ingressStatus is an Ingress's status: where kgit's ingress controller serves it, if it
// does (its class is kgit's and the controller listens).
func ingressStatus(s *ingress.Status, app string, in *manifest.Ingress) map[string]any {
	if s == nil || !slices.Contains(s.Served, ingress.ServedKey(app, in.Namespace, in.Name)) {
		return map[string]any{"loadBalancer": map[string]any{}}
	}
	var ip string
	var ports []map[string]any
	addrs := []string{s.Listen.HTTP}
	if len(in.Spec.TLS) > 0 { // as kubectl's PORTS: 443 only where the Ingress has TLS
		addrs = append(addrs, s.Listen.HTTPS)
	}
	for _, addr := range addrs {
		if h, p, err := net.SplitHostPort(addr); err == nil {
			n, _ := strconv.Atoi(p)
			ip = h
			ports = append(ports, map[string]any{"port": n, "protocol": "TCP"})
		}
	}
	if ip == "" {
		return map[string]any{"loadBalancer": map[string]any{}}
	}
	return map[string]any{"loadBalancer": map[string]any{"ingress": []map[string]any{{"ip": ip, "ports": ports}}}}
}

// podsOfOwned are the pods of the ReplicaSets an object owns.
func podsOfOwned(st *controller.State, k manifest.Key) []*backend.Pod {
	var pods []*backend.Pod
	for _, rs := range st.Owned(k) {
		pods = append(pods, rs.Pods...)
	}
	return pods
}

// jobObject is a Job as the API returns it: its generated selector and its status.
func jobObject(j *manifest.Job, m *manifest.ObjectMeta, a *controller.Object) map[string]any {
	js := a.JobStatusOf()
	status := map[string]any{"active": js.Active, "succeeded": js.Succeeded, "failed": js.Failed}
	if !js.StartTime.IsZero() {
		status["startTime"] = js.StartTime.Format(time.RFC3339)
	}
	if !js.CompletionTime.IsZero() {
		status["completionTime"] = js.CompletionTime.Format(time.RFC3339)
	}
	if js.Condition != "" {
		status["conditions"] = []map[string]any{{"type": js.Condition, "status": "True", "reason": js.Reason, "message": js.Message}}
	}
	spec := j.Spec
	if spec.Selector == nil && js.UID != "" {
		spec.Selector = &manifest.LabelSelector{MatchLabels: map[string]string{manifest.JobControllerUIDLabel: js.UID}}
	}
	meta := metadata(m, a.Created)
	if cj, ok := a.MadeBy(); ok {
		meta["ownerReferences"] = []map[string]any{{"apiVersion": "batch/v1", "kind": "CronJob", "name": cj, "controller": true}}
	}
	return map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec, "status": status}
}

// cronJobObject is a CronJob as the API returns it: its status as its scheduler keeps it.
func cronJobObject(st *controller.State, cj *manifest.CronJob, m *manifest.ObjectMeta, a *controller.Object) map[string]any {
	cs := a.CronJobStatusOf()
	status := map[string]any{}
	if len(cs.Active) > 0 {
		var active []map[string]any
		for _, name := range cs.Active {
			if st.Objects[manifest.Key{Kind: "Job", Namespace: cj.Namespace, Name: name}] != nil {
				active = append(active, map[string]any{"apiVersion": "batch/v1", "kind": "Job", "name": name, "namespace": cj.Namespace})
			}
		}
		status["active"] = active
	}
	if !cs.LastScheduleTime.IsZero() {
		status["lastScheduleTime"] = cs.LastScheduleTime.UTC().Format(time.RFC3339)
	}
	if !cs.LastSuccessfulTime.IsZero() {
		status["lastSuccessfulTime"] = cs.LastSuccessfulTime.UTC().Format(time.RFC3339)
	}
	return map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata(m, a.Created), "spec": cj.Spec, "status": status}
}

// claimObject is a claim as the API returns it once bound: a local backend binds a claim
// at once, to a volume of its own (kgit-pvc-NAMESPACE-NAME) of the size requested.
func claimObject(c *manifest.PersistentVolumeClaim, m *manifest.ObjectMeta, created time.Time) map[string]any {
	spec := c.Spec
	if spec.VolumeName == "" {
		spec.VolumeName = "kgit-pvc-" + c.Namespace + "-" + c.Name
	}
	status := map[string]any{"phase": "Bound", "accessModes": c.Spec.AccessModes, "capacity": c.Spec.Resources.Requests}
	return map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata(m, created), "spec": spec, "status": status}
}

func withKey(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		out[key] = val
	}
	return out
}

func metadata(m *manifest.ObjectMeta, created time.Time) map[string]any {
	md := map[string]any{"name": m.Name, "namespace": m.Namespace, "creationTimestamp": created.UTC().Format(time.RFC3339)}
	if len(m.Labels) > 0 {
		md["labels"] = m.Labels
	}
	if len(m.Annotations) > 0 {
		md["annotations"] = m.Annotations
	}
	return md
}

// userLabels drops kgit's own labels, leaving the template's.
func userLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if !strings.HasPrefix(k, "kgit.dev/") {
			out[k] = v
		}
	}
	return out
}

// podObject is a pod in Kubernetes' shape: status.phase, a Ready condition and
// containerStatuses with their state and restartCount.
func podObject(p *backend.Pod, now time.Time) map[string]any {
	ready := "False"
	if p.Status.Ready {
		ready = "True"
	}
	cs := containerStatuses(p, p.Status.Containers)
	initCS := containerStatuses(p, p.Status.InitContainers)
	meta := metadata(&manifest.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, Annotations: p.Annotations}, p.Created)
	meta["uid"] = p.UID
	if p.Status.Terminating && !p.Status.TerminatingSince.IsZero() {
		meta["deletionTimestamp"] = p.Status.TerminatingSince.UTC().Format(time.RFC3339)
	}
	status := map[string]any{"phase": p.Status.Phase, "podIP": p.Status.PodIP,
		"conditions": []map[string]any{{"type": "Ready", "status": ready}}, "containerStatuses": cs}
	if len(initCS) > 0 {
		status["initContainerStatuses"] = initCS
	}
	if p.Status.Reason != "" {
		status["reason"], status["message"] = p.Status.Reason, p.Status.Message
	}
	if !p.Status.StartTime.IsZero() {
		status["startTime"] = p.Status.StartTime.Format(time.RFC3339)
	}
	spec := p.Spec
	spec.NodeName = "localhost" // kgit's one node
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}
}

// containerStatuses are a pod's containerStatuses (or initContainerStatuses) as the API
// shows them.
func containerStatuses(p *backend.Pod, statuses []backend.ContainerStatus) []map[string]any {
	var cs []map[string]any
	for _, c := range statuses {
		state := map[string]any{}
		switch c.State {
		case backend.StateRunning:
			state["running"] = map[string]any{"startedAt": c.StartedAt.Format(time.RFC3339)}
		case backend.StateWaiting:
			state["waiting"] = map[string]any{"reason": c.Reason, "message": c.Message}
		case backend.StateTerminated:
			state["terminated"] = map[string]any{"exitCode": c.ExitCode, "reason": c.Reason, "startedAt": c.StartedAt.Format(time.RFC3339), "finishedAt": c.FinishedAt.Format(time.RFC3339)}
			if c.Message != "" {
				state["terminated"].(map[string]any)["message"] = c.Message
			}
		}
		entry := map[string]any{"name": c.Name, "ready": c.State == backend.StateRunning && p.Status.Ready, "started": c.State == backend.StateRunning && c.Started, "restartCount": c.RestartCount, "state": state, "image": imageOf(p, c.Name)}
		if t := c.LastTermination; t != nil {
			entry["lastState"] = map[string]any{"terminated": map[string]any{"exitCode": t.ExitCode, "reason": t.Reason, "finishedAt": t.FinishedAt.Format(time.RFC3339)}}
		}
		cs = append(cs, entry)
	}
	return cs
}

func imageOf(p *backend.Pod, container string) string {
	for _, c := range append(p.Spec.InitContainers[:len(p.Spec.InitContainers):len(p.Spec.InitContainers)], p.Spec.Containers...) {
		if c.Name == container {
			return c.Image
		}
	}
	return ""
}

// configObject is a ConfigMap as Kubernetes shows it, or a Secret with every value
// replaced: kgit never prints a Secret's values.
func configObject(obj any) any {
	switch v := obj.(type) {
	case *manifest.Secret:
		c := *v
		c.Data = map[string]string{}
		for k := range v.Data {
			c.Data[k] = "(secret value)"
		}
		for k := range v.StringData {
			c.Data[k] = "(secret value)"
		}
		c.StringData = nil
		return &c
	}
	return obj
}

// endpointsObject is a Service's Endpoints as the API returns them: the ready pods it
// sends traffic to now, one subset per address and port, in the Service's port order.
func endpointsObject(st *controller.State, svc *manifest.Service) map[string]any {
	route := &backend.Service{Name: svc.Name, Namespace: svc.Namespace, Spec: svc.Spec}
	eps := map[int32][]string{}
	for _, p := range st.Pods {
		if proxy.Selects(route, p.Namespace, p.Labels) && p.Status.Ready && !p.Status.Terminating {
			proxy.Add(eps, route, &p.Spec, p.Status.PodIP)
		}
	}
	subsets := []map[string]any{}
	for _, sp := range svc.Spec.Ports {
		for _, hp := range eps[sp.Port] {
			host, port, err := net.SplitHostPort(hp)
			if err != nil {
				continue
			}
			n, _ := strconv.Atoi(port)
			subsets = append(subsets, map[string]any{"addresses": []map[string]any{{"ip": host}}, "ports": []map[string]any{{"port": n, "protocol": "TCP"}}})
		}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Endpoints", "metadata": map[string]any{"name": svc.Name, "namespace": svc.Namespace}, "subsets": subsets}
}

// humanDuration and orNone are kubectl's, for the tables kgit prints of its own
// (events, rollout history).
var (
	humanDuration = kubeprint.HumanDuration
	orNone        = kubeprint.OrNone
)
