package manifest

import (
	"fmt"
	"strings"
)

// PodFields are the downward API values of a running pod.
type PodFields struct {
	Name, Namespace, UID, PodIP, HostIP, NodeName, ServiceAccount string
	Labels, Annotations                                           map[string]string
	// Services are the variables of the Services of the pod's namespace (see
	// ServiceLinks), set first, so the container's own variables override them.
	Services []EnvVar
}

// FieldValue resolves a downward API fieldPath.
func (f PodFields) FieldValue(path string) (string, error) {
	switch path {
	case "metadata.name":
		return f.Name, nil
	case "metadata.namespace":
		return f.Namespace, nil
	case "metadata.uid":
		return f.UID, nil
	case "status.podIP":
		return f.PodIP, nil
	case "status.hostIP":
		return f.HostIP, nil
	case "spec.nodeName":
		return f.NodeName, nil
	case "spec.serviceAccountName":
		return f.ServiceAccount, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels['": f.Labels, "metadata.annotations['": f.Annotations} {
		if k, ok := strings.CutPrefix(path, prefix); ok && strings.HasSuffix(k, "']") {
			return m[strings.TrimSuffix(k, "']")], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// ContainerEnv returns a container's environment as Kubernetes builds it: the pod
// variables first (POD_NAME, POD_NAMESPACE, POD_IP; kgit's addition), then the envFrom
// variables, then env in order, each value expanded with $(VAR) against the variables
// defined before it; r holds the values from ConfigMaps and Secrets. It returns the
// ordered names and the values.
func ContainerEnv(c *Container, f PodFields, r *Resolved) ([]string, map[string]string, error) {
	vals := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, e := range f.Services {
		set(e.Name, e.Value)
	}
	set("POD_NAME", f.Name)
	set("POD_NAMESPACE", f.Namespace)
	set("POD_IP", f.PodIP)
	if r != nil {
		for _, e := range r.From { // envFrom comes first; env overrides it
			set(e.Name, e.Value)
		}
	}
	for _, e := range c.Env {
		v := Expand(e.Value, vals)
		switch src := e.ValueFrom; {
		case src == nil:
		case src.FieldRef != nil:
			var err error
			if v, err = f.FieldValue(src.FieldRef.FieldPath); err != nil {
				return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
		case src.ConfigMapKeyRef != nil || src.SecretKeyRef != nil:
			val, ok := "", false
			if r != nil {
				val, ok = r.Refs[e.Name]
			}
			if !ok {
				continue // optional and absent: not set, as in Kubernetes
			}
			v = val
		}
		set(e.Name, v)
	}
	return order, vals, nil
}

// ExpandAll expands $(VAR) in each of ss against vals.
func ExpandAll(ss []string, vals map[string]string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Expand(s, vals)
	}
	return out
}

// Expand replaces $(VAR) with vals[VAR] as Kubernetes does: $$ is an escaped $, and a
// reference to an undefined variable, or an unterminated one, is left as written.
func Expand(s string, vals map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; next {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vals[name]; ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
