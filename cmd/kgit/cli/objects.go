package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/proxy"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// kinds maps what get and describe accept (as kubectl spells them) to a kind.
var kinds = map[string]string{
	"pod": "Pod", "pods": "Pod", "po": "Pod",
	"replicaset": "ReplicaSet", "replicasets": "ReplicaSet", "rs": "ReplicaSet",
	"deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
	"configmap": "ConfigMap", "configmaps": "ConfigMap", "cm": "ConfigMap",
	"secret": "Secret", "secrets": "Secret",
	"service": "Service", "services": "Service", "svc": "Service",
	"daemonset": "DaemonSet", "daemonsets": "DaemonSet", "ds": "DaemonSet",
	"statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
}

func kindOf(s string) (string, error) {
	k, ok := kinds[strings.ToLower(strings.TrimSuffix(strings.ToLower(s), ".apps"))]
	if !ok {
		return "", invalid("unknown resource type %q (supported: pods (po), replicasets (rs), deployments (deploy), statefulsets (sts), daemonsets (ds), services (svc), configmaps (cm), secrets)", s)
	}
	return k, nil
}

// view is one object as get and describe show it.
type view struct {
	kind, app, name, namespace string
	labels, annotations        map[string]string
	created                    time.Time
	obj                        any // Kubernetes-shaped, for -o json|yaml
	pod                        *backend.Pod
	rs                         *reconcile.RS
	deploy                     *manifest.Deployment
	dstatus                    reconcile.DeploymentStatus
	progress                   reconcile.Progress    // as last recorded by a sync
	data                       int                   // a ConfigMap's or Secret's number of keys
	service                    *manifest.ServiceSpec // with its address and node ports
	stateful                   *manifest.StatefulSet
	daemon                     *manifest.DaemonSet
	endpoints                  []string // a Service's ready pods, host:port
	counts                     reconcile.Counts
}

// views returns every object of a kind in one app's state, sorted by name.
func views(st *reconcile.State, app, kind string, now time.Time) []view {
	var out []view
	switch kind {
	case "Pod":
		for _, p := range st.Pods {
			out = append(out, view{kind: kind, app: app, name: p.Name, namespace: p.Namespace,
				labels: userLabels(p.Labels), annotations: p.Annotations, created: p.Created, obj: podObject(p, now), pod: p})
		}
	case "ReplicaSet":
		for _, rs := range st.ReplicaSets {
			c := rs.Counts(now)
			obj := map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": metadata(&rs.RS.ObjectMeta, rs.Created),
				"spec": rs.RS.Spec, "status": map[string]any{"replicas": c.Replicas, "readyReplicas": c.Ready, "availableReplicas": c.Available}}
			out = append(out, view{kind: kind, app: app, name: rs.RS.Name, namespace: rs.RS.Namespace,
				labels: rs.RS.Labels, annotations: rs.RS.Annotations, created: rs.Created, obj: obj, rs: rs})
		}
	case "ConfigMap", "Secret":
		for _, a := range st.Applied {
			if a.Key.Kind != kind {
				continue
			}
			_, meta := (&manifest.Object{Obj: a.Object}).Meta()
			obj, data := configObject(a.Object)
			out = append(out, view{kind: kind, app: app, name: meta.Name, namespace: meta.Namespace, labels: meta.Labels,
				annotations: meta.Annotations, created: a.Created, obj: obj, data: data})
		}
	case "Service":
		for _, a := range st.Applied {
			svc, ok := a.Object.(*manifest.Service)
			if !ok {
				continue
			}
			spec := svc.Spec
			route := st.Routes[a.Key]
			if route != nil {
				spec.ClusterIP = route.ClusterIP
				spec.Ports = append([]manifest.ServicePort(nil), spec.Ports...)
				for i := range spec.Ports {
					spec.Ports[i].NodePort = route.NodePorts[spec.Ports[i].Port]
				}
			}
			obj := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": metadata(&svc.ObjectMeta, a.Created), "spec": spec}
			out = append(out, view{kind: kind, app: app, name: svc.Name, namespace: svc.Namespace, labels: svc.Labels,
				annotations: svc.Annotations, created: a.Created, obj: obj, service: &spec, endpoints: endpoints(st, svc)})
		}
	case "DaemonSet":
		for _, a := range st.Applied {
			ds, ok := a.Object.(*manifest.DaemonSet)
			if !ok {
				continue
			}
			s := st.StatusOf(a.Key, reconcile.AsDeployment(ds), now)
			status := map[string]any{"desiredNumberScheduled": 1, "currentNumberScheduled": s.Replicas, "numberReady": s.Ready,
				"updatedNumberScheduled": s.Updated, "numberAvailable": s.Available}
			obj := map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": metadata(&ds.ObjectMeta, a.Created), "spec": ds.Spec, "status": status}
			out = append(out, view{kind: kind, app: app, name: ds.Name, namespace: ds.Namespace, labels: ds.Labels,
				annotations: ds.Annotations, created: a.Created, obj: obj, daemon: ds, dstatus: s})
		}
	case "StatefulSet":
		for _, a := range st.Applied {
			ss, ok := a.Object.(*manifest.StatefulSet)
			if !ok {
				continue
			}
			c := reconcile.Count(st.PodsOf(a.Key), ss.Spec.MinReadySeconds, now)
			status := map[string]any{"replicas": c.Replicas, "readyReplicas": c.Ready, "availableReplicas": c.Available,
				"currentRevision": ss.Name + "-" + a.Progress.CurrentRevision, "updatedReplicas": a.Progress.Updated}
			obj := map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata(&ss.ObjectMeta, a.Created), "spec": ss.Spec, "status": status}
			out = append(out, view{kind: kind, app: app, name: ss.Name, namespace: ss.Namespace, labels: ss.Labels,
				annotations: ss.Annotations, created: a.Created, obj: obj, stateful: ss, counts: c})
		}
	case "Deployment":
		for _, a := range st.Applied {
			d, ok := a.Object.(*manifest.Deployment)
			if !ok {
				continue
			}
			s := st.StatusOf(a.Key, d, now)
			meta := metadata(&d.ObjectMeta, a.Created)
			if s.Revision > 0 {
				meta["annotations"] = withKey(d.Annotations, reconcile.RevisionAnnotation, fmt.Sprint(s.Revision))
			}
			status := map[string]any{"replicas": s.Replicas, "updatedReplicas": s.Updated, "readyReplicas": s.Ready, "availableReplicas": s.Available}
			if c := a.Progress.Progressing; c != nil {
				status["conditions"] = []*reconcile.Condition{c}
			}
			obj := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": d.Spec, "status": status}
			out = append(out, view{kind: kind, app: app, name: d.Name, namespace: d.Namespace,
				labels: d.Labels, annotations: d.Annotations, created: a.Created, obj: obj, deploy: d, dstatus: s, progress: a.Progress})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].namespace+"/"+out[i].name < out[j].namespace+"/"+out[j].name })
	return out
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
	var cs []map[string]any
	for _, c := range p.Status.Containers {
		state := map[string]any{}
		switch c.State {
		case backend.StateRunning:
			state["running"] = map[string]any{"startedAt": c.StartedAt.Format(time.RFC3339)}
		case backend.StateWaiting:
			state["waiting"] = map[string]any{"reason": c.Reason, "message": c.Message}
		case backend.StateTerminated:
			state["terminated"] = map[string]any{"exitCode": c.ExitCode, "reason": c.Reason, "startedAt": c.StartedAt.Format(time.RFC3339), "finishedAt": c.FinishedAt.Format(time.RFC3339)}
		}
		entry := map[string]any{"name": c.Name, "ready": c.State == backend.StateRunning && p.Status.Ready, "restartCount": c.RestartCount, "state": state, "image": imageOf(p, c.Name)}
		if t := c.LastTermination; t != nil && c.State != backend.StateTerminated {
			entry["lastState"] = map[string]any{"terminated": map[string]any{"exitCode": t.ExitCode, "reason": t.Reason, "finishedAt": t.FinishedAt.Format(time.RFC3339)}}
		}
		cs = append(cs, entry)
	}
	meta := metadata(&manifest.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, Annotations: p.Annotations}, p.Created)
	meta["uid"] = p.UID
	status := map[string]any{"phase": p.Status.Phase, "podIP": p.Status.PodIP,
		"conditions": []map[string]any{{"type": "Ready", "status": ready}}, "containerStatuses": cs}
	if p.Status.Reason != "" {
		status["reason"], status["message"] = p.Status.Reason, p.Status.Message
	}
	if !p.Status.StartTime.IsZero() {
		status["startTime"] = p.Status.StartTime.Format(time.RFC3339)
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": p.Spec, "status": status}
}

func imageOf(p *backend.Pod, container string) string {
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			return c.Image
		}
	}
	return ""
}

// podStatusText is kubectl's STATUS column: the pod's reason or phase, overridden by
// the last container's waiting or terminated reason.
func podStatusText(p *backend.Pod) string {
	s := p.Status.Phase
	if p.Status.Reason != "" {
		s = p.Status.Reason
	}
	for _, c := range p.Status.Containers {
		switch {
		case c.State == backend.StateWaiting && c.Reason != "":
			s = c.Reason
		case c.State == backend.StateTerminated && c.Reason != "":
			s = c.Reason
		case c.State == backend.StateTerminated:
			s = fmt.Sprintf("ExitCode:%d", c.ExitCode)
		}
	}
	if s == "Completed" && p.Status.Phase == backend.PodRunning {
		s = "Running"
	}
	return s
}

// humanDuration is kubectl's AGE (duration.HumanDuration).
func humanDuration(d time.Duration) string {
	if d < -2*time.Second {
		return "<invalid>"
	}
	if d < 0 {
		d = 0
	}
	s := int(d.Seconds())
	switch {
	case s < 120:
		return fmt.Sprintf("%ds", s)
	case d < 10*time.Minute:
		if s%60 == 0 {
			return fmt.Sprintf("%dm", s/60)
		}
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case d < 3*time.Hour:
		return fmt.Sprintf("%dm", s/60)
	case d < 8*time.Hour:
		if h, m := s/3600, (s%3600)/60; m != 0 {
			return fmt.Sprintf("%dh%dm", h, m)
		}
		return fmt.Sprintf("%dh", s/3600)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", s/3600)
	case d < 8*24*time.Hour:
		if h := (s % 86400) / 3600; h != 0 {
			return fmt.Sprintf("%dd%dh", s/86400, h)
		}
		return fmt.Sprintf("%dd", s/86400)
	case d < 2*365*24*time.Hour:
		return fmt.Sprintf("%dd", s/86400)
	case d < 8*365*24*time.Hour:
		y := s / (365 * 86400)
		if dd := (s % (365 * 86400)) / 86400; dd != 0 {
			return fmt.Sprintf("%dy%dd", y, dd)
		}
		return fmt.Sprintf("%dy", y)
	}
	return fmt.Sprintf("%dy", s/(365*86400))
}

// configObject is a ConfigMap as Kubernetes shows it, or a Secret with every value
// replaced: kgit never prints a Secret's values. It also returns the number of keys.
func configObject(obj any) (any, int) {
	switch v := obj.(type) {
	case *manifest.ConfigMap:
		return v, len(v.Data) + len(v.BinaryData)
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
		return &c, len(c.Data)
	}
	return obj, 0
}

// endpoints are the addresses a Service sends traffic to now: its ready pods'.
func endpoints(st *reconcile.State, svc *manifest.Service) []string {
	route := &backend.Service{Name: svc.Name, Namespace: svc.Namespace, Spec: svc.Spec}
	eps := map[int32][]string{}
	for _, p := range st.Pods {
		if proxy.Selects(route, p.Namespace, p.Labels) && p.Status.Ready && !p.Status.Terminating {
			proxy.Add(eps, route, &p.Spec, p.Status.PodIP)
		}
	}
	var out []string
	for _, sp := range svc.Spec.Ports {
		out = append(out, eps[sp.Port]...)
	}
	return out
}
