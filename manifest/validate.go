package manifest

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelName        = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	envVarName       = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
	portName         = regexp.MustCompile(`^[-a-z0-9]+$`)
	percent          = regexp.MustCompile(`^[0-9]+%$`)
)

const (
	labelMsg     = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
	subdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)

// Validate checks an object as the Kubernetes API server would and returns every
// problem found, each with file, line and field path. A kind kgit does not model has
// its metadata checked only.
func Validate(o *Object) ErrorList {
	v := &validator{obj: o}
	_, meta := o.Meta()
	v.objectMeta(meta, "metadata", true)
	if k := o.Kind(); k.validate != nil {
		k.validate(v, o.Obj.(Resource))
	}
	return v.errs
}

type validator struct {
	obj  *Object
	errs ErrorList
}

func (v *validator) add(path string, value any, format string, args ...any) {
	v.errs = append(v.errs, v.obj.errorf(path, value, format, args...))
}

func (v *validator) objectMeta(m *ObjectMeta, path string, named bool) {
	if named {
		switch {
		case m.Name == "" && m.GenerateName != "":
			v.add(path+".generateName", nil, "Forbidden: kgit needs a stable name; set metadata.name")
		case m.Name == "":
			v.add(path+".name", nil, "Required value: name or generateName is required")
		case v.obj.Kind().pathSegmentNames:
			v.pathSegment(m.Name, path+".name")
		default:
			v.dnsSubdomain(m.Name, path+".name")
		}
		if m.Namespace != "" {
			v.dnsLabel(m.Namespace, path+".namespace")
		}
	}
	for k, val := range m.Labels {
		v.labelKey(k, path+".labels")
		if len(val) > 63 || (val != "" && !labelName.MatchString(val)) {
			v.add(path+".labels."+k, val, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)")
		}
	}
	for k := range m.Annotations {
		v.labelKey(k, path+".annotations")
	}
}

func (v *validator) labelKey(k, path string) {
	prefix, name, found := strings.Cut(k, "/")
	if !found {
		prefix, name = "", k
	}
	if (found && (prefix == "" || len(prefix) > 253 || !dns1123Subdomain.MatchString(prefix))) || len(name) > 63 || !labelName.MatchString(name) {
		v.add(path, k, "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'")
	}
}

func (v *validator) dnsLabel(s, path string) {
	switch {
	case len(s) > 63:
		v.add(path, s, "must be no more than 63 characters")
	case !dns1123Label.MatchString(s):
		v.add(path, s, labelMsg)
	}
}

func (v *validator) dnsSubdomain(s, path string) {
	switch {
	case len(s) > 253:
		v.add(path, s, "must be no more than 253 characters")
	case !dns1123Subdomain.MatchString(s):
		v.add(path, s, subdomainMsg)
	}
}

// pathSegment is Kubernetes' rule for names that need only be a segment of a URL
// path (RBAC's: system:controller:foo is valid).
func (v *validator) pathSegment(s, path string) {
	switch {
	case s == "." || s == "..":
		v.add(path, s, "may not be '%s'", s)
	case strings.ContainsAny(s, "/%"):
		v.add(path, s, "may not contain '/' or '%%'")
	}
}

func (v *validator) nonNegative(n int64, path string) {
	if n < 0 {
		v.add(path, n, "must be greater than or equal to 0")
	}
}

func (v *validator) replicas(r *int32, path string) {
	if r != nil {
		v.nonNegative(int64(*r), path)
	}
}

// intOrPercent validates maxSurge/maxUnavailable and returns its number (or percent).
func (v *validator) intOrPercent(x *IntOrString, path string) int {
	if x == nil {
		return -1
	}
	if !x.IsString {
		v.nonNegative(int64(x.IntVal), path)
		return int(x.IntVal)
	}
	if !percent.MatchString(x.StrVal) {
		v.add(path, x.StrVal, "a valid percent string must be a numeric string followed by an ending '%%' (e.g. '1%%',  or '93%%', regex used for validation is '[0-9]+%%')")
		return -1
	}
	n := 0
	fmt.Sscanf(x.StrVal, "%d%%", &n)
	return n
}

func (v *validator) selectorAndTemplate(sel *LabelSelector, t *PodTemplateSpec, path string) {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		v.add(path+".selector", nil, "Required value: empty selector is invalid")
	} else {
		v.selector(sel, path+".selector")
		if ok, err := sel.Matches(t.Labels); err == nil && !ok {
			v.add(path+".template.metadata.labels", labelString(t.Labels), "`selector` does not match template `labels`")
		}
	}
	v.objectMeta(&t.ObjectMeta, path+".template.metadata", false)
	v.podSpec(&t.Spec, path+".template.spec", true)
}

func (v *validator) selector(sel *LabelSelector, path string) {
	for k := range sel.MatchLabels {
		v.labelKey(k, path+".matchLabels")
	}
	for i, r := range sel.MatchExpressions {
		p := fmt.Sprintf("%s.matchExpressions[%d]", path, i)
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				v.add(p+".values", nil, "Required value: must be specified when `operator` is 'In' or 'NotIn'")
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) > 0 {
				v.add(p+".values", nil, "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
			}
		default:
			v.add(p+".operator", r.Operator, "not a valid selector operator")
		}
	}
}

func (v *validator) podSpec(s *PodSpec, path string, template bool) {
	switch s.RestartPolicy {
	case "Always":
	case "OnFailure", "Never":
		if template {
			v.add(path+".restartPolicy", s.RestartPolicy, "Unsupported value: supported values: \"Always\"")
		}
	default:
		v.add(path+".restartPolicy", s.RestartPolicy, "Unsupported value: supported values: \"Always\", \"OnFailure\", \"Never\"")
	}
	if template && s.ActiveDeadlineSeconds != nil {
		v.add(path+".activeDeadlineSeconds", nil, "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported")
	}
	if s.TerminationGracePeriodSeconds != nil {
		v.nonNegative(*s.TerminationGracePeriodSeconds, path+".terminationGracePeriodSeconds")
	}
	if len(s.Containers) == 0 {
		v.add(path+".containers", nil, "Required value: a pod needs at least one container")
	}
	v.volumes(s.Volumes, path+".volumes")
	names := map[string]bool{}
	for i := range s.InitContainers {
		c, p := &s.InitContainers[i], fmt.Sprintf("%s.initContainers[%d]", path, i)
		v.container(c, p, names)
		if c.RestartPolicy != nil && *c.RestartPolicy != "Always" {
			v.add(p+".restartPolicy", *c.RestartPolicy, "Unsupported value: supported values: \"Always\"")
		}
		if c.RestartPolicy == nil {
			for field, probe := range map[string]*Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
				if probe != nil {
					v.add(p+"."+field, nil, "Forbidden: may not be set for init containers without restartPolicy=Always")
				}
			}
			if c.Lifecycle != nil {
				v.add(p+".lifecycle", nil, "Forbidden: may not be set for init containers without restartPolicy=Always")
			}
		}
	}
	for i := range s.Containers {
		v.container(&s.Containers[i], fmt.Sprintf("%s.containers[%d]", path, i), names)
	}
}

func (v *validator) container(c *Container, path string, names map[string]bool) {
	if c.Name == "" {
		v.add(path+".name", nil, "Required value")
	} else {
		v.dnsLabel(c.Name, path+".name")
		if names[c.Name] {
			v.add(path+".name", c.Name, "Duplicate value: container names must be unique")
		}
		names[c.Name] = true
	}
	if strings.TrimSpace(c.Image) == "" {
		v.add(path+".image", nil, "Required value")
	}
	switch c.ImagePullPolicy {
	case "Always", "IfNotPresent", "Never":
	default:
		v.add(path+".imagePullPolicy", c.ImagePullPolicy, "Unsupported value: supported values: \"Always\", \"IfNotPresent\", \"Never\"")
	}
	envNames := map[string]bool{}
	for i, e := range c.Env {
		p := fmt.Sprintf("%s.env[%d]", path, i)
		if e.Name == "" {
			v.add(p+".name", nil, "Required value")
		} else if !envVarName.MatchString(e.Name) {
			v.add(p+".name", e.Name, "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit")
		}
		envNames[e.Name] = true
		if e.ValueFrom != nil {
			v.envSource(e, p)
		}
	}
	for i, ef := range c.EnvFrom {
		p := fmt.Sprintf("%s.envFrom[%d]", path, i)
		switch {
		case (ef.ConfigMapRef == nil) == (ef.SecretRef == nil):
			v.add(p, nil, "Invalid value: must specify exactly one of: `configMapRef` or `secretRef`")
		case ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == "":
			v.add(p+".configMapRef.name", nil, "Required value")
		case ef.SecretRef != nil && ef.SecretRef.Name == "":
			v.add(p+".secretRef.name", nil, "Required value")
		}
	}
	portNames := map[string]bool{}
	for i, port := range c.Ports {
		p := fmt.Sprintf("%s.ports[%d]", path, i)
		if port.ContainerPort < 1 || port.ContainerPort > 65535 {
			v.add(p+".containerPort", port.ContainerPort, "must be between 1 and 65535, inclusive")
		}
		if port.HostPort < 0 || port.HostPort > 65535 {
			v.add(p+".hostPort", port.HostPort, "must be between 1 and 65535, inclusive")
		}
		switch port.Protocol {
		case "TCP", "UDP", "SCTP":
		default:
			v.add(p+".protocol", port.Protocol, "Unsupported value: supported values: \"SCTP\", \"TCP\", \"UDP\"")
		}
		if port.Name != "" {
			if len(port.Name) > 15 || !portName.MatchString(port.Name) || !strings.ContainsAny(port.Name, "abcdefghijklmnopqrstuvwxyz") ||
				strings.Contains(port.Name, "--") || strings.HasPrefix(port.Name, "-") || strings.HasSuffix(port.Name, "-") {
				v.add(p+".name", port.Name, "must be an IANA_SVC_NAME (at most 15 characters, matching regex [-a-z0-9]+, at least one letter, no '--', not starting or ending with '-')")
			}
			if portNames[port.Name] {
				v.add(p+".name", port.Name, "Duplicate value")
			}
			portNames[port.Name] = true
		}
	}
	v.volumeMounts(c.VolumeMounts, path+".volumeMounts")
	v.probe(c.ReadinessProbe, path+".readinessProbe", false)
	v.probe(c.LivenessProbe, path+".livenessProbe", true)
	v.probe(c.StartupProbe, path+".startupProbe", true)
	if l := c.Lifecycle; l != nil {
		v.lifecycleHandler(l.PostStart, path+".lifecycle.postStart")
		v.lifecycleHandler(l.PreStop, path+".lifecycle.preStop")
	}
	v.resources(c.Resources, path+".resources")
}

// lifecycleHandler checks a postStart or preStop hook as Kubernetes does: one handler.
func (v *validator) lifecycleHandler(h *LifecycleHandler, path string) {
	if h == nil {
		return
	}
	handlers := v.actions(h.Exec, h.HTTPGet, h.TCPSocket, path)
	if h.Sleep != nil {
		handlers++
		if h.Sleep.Seconds < 0 {
			v.add(path+".sleep.seconds", h.Sleep.Seconds, "must be greater than or equal to 0")
		}
	}
	v.oneHandler(handlers, path)
}

// actions checks the handlers that probes and lifecycle hooks share, and returns how
// many are set.
func (v *validator) actions(e *ExecAction, h *HTTPGetAction, t *TCPSocketAction, path string) int {
	n := 0
	if e != nil {
		n++
		if len(e.Command) == 0 {
			v.add(path+".exec.command", nil, "Required value")
		}
	}
	if h != nil {
		n++
		if h.Scheme != "HTTP" && h.Scheme != "HTTPS" {
			v.add(path+".httpGet.scheme", h.Scheme, "Unsupported value: supported values: \"HTTP\", \"HTTPS\"")
		}
		v.probePort(h.Port, path+".httpGet.port")
	}
	if t != nil {
		n++
		v.probePort(t.Port, path+".tcpSocket.port")
	}
	return n
}

// oneHandler says what is wrong with a probe or hook that does not set exactly one handler.
func (v *validator) oneHandler(n int, path string) {
	switch {
	case n == 0:
		v.add(path, nil, "Required value: must specify a handler type")
	case n > 1:
		v.add(path, nil, "Forbidden: may not specify more than 1 handler type")
	}
}

var configKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

func validConfigKey(k string) bool { return len(k) <= 253 && configKey.MatchString(k) }

// configData checks the keys of a ConfigMap's or Secret's data (and that base64 values
// decode). Values are never quoted in errors: they may be secret.
func (v *validator) configData(data map[string]string, field string, b64 bool) {
	for k, val := range data {
		if !validConfigKey(k) {
			v.add(field, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
		}
		if b64 {
			if _, err := base64.StdEncoding.DecodeString(val); err != nil {
				v.add(field+"."+k, nil, "Invalid value: not valid base64")
			}
		}
	}
}

// fieldRefs are the downward API fields kgit resolves.
var fieldRefs = []string{"metadata.name", "metadata.namespace", "metadata.uid", "status.podIP", "status.hostIP", "spec.nodeName", "spec.serviceAccountName"}

func (v *validator) envSource(e EnvVar, path string) {
	if e.Value != "" {
		v.add(path+".valueFrom", nil, "Invalid value: may not be specified when `value` is not empty")
	}
	s := e.ValueFrom
	n := 0
	if s.FieldRef != nil {
		n++
		fp := s.FieldRef.FieldPath
		if !validFieldRef(fp) {
			v.add(path+".valueFrom.fieldRef.fieldPath", fp, "Unsupported value: supported values: %s, metadata.labels['<KEY>'], metadata.annotations['<KEY>']", strings.Join(fieldRefs, ", "))
		}
	}
	if len(s.ResourceFieldRef) > 0 {
		n++
	}
	for kind, ref := range map[string]*KeySelector{"configMapKeyRef": s.ConfigMapKeyRef, "secretKeyRef": s.SecretKeyRef} {
		if ref == nil {
			continue
		}
		n++
		if ref.Name == "" {
			v.add(path+".valueFrom."+kind+".name", nil, "Required value")
		}
		if !validConfigKey(ref.Key) {
			v.add(path+".valueFrom."+kind+".key", ref.Key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
		}
	}
	if n != 1 {
		v.add(path+".valueFrom", nil, "Invalid value: must specify exactly one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")
	}
}

func validFieldRef(fp string) bool {
	for _, f := range fieldRefs {
		if fp == f {
			return true
		}
	}
	for _, p := range []string{"metadata.labels['", "metadata.annotations['"} {
		if strings.HasPrefix(fp, p) && strings.HasSuffix(fp, "']") && len(fp) > len(p)+2 {
			return true
		}
	}
	return false
}

func (v *validator) probe(p *Probe, path string, mustSucceedOnce bool) {
	if p == nil {
		return
	}
	handlers := v.actions(p.Exec, p.HTTPGet, p.TCPSocket, path)
	if p.GRPC != nil {
		handlers++
		if p.GRPC.Port < 1 || p.GRPC.Port > 65535 {
			v.add(path+".grpc.port", p.GRPC.Port, "must be between 1 and 65535, inclusive")
		}
	}
	v.oneHandler(handlers, path)
	for name, n := range map[string]int32{"initialDelaySeconds": p.InitialDelaySeconds, "timeoutSeconds": p.TimeoutSeconds,
		"periodSeconds": p.PeriodSeconds, "successThreshold": p.SuccessThreshold, "failureThreshold": p.FailureThreshold} {
		v.nonNegative(int64(n), path+"."+name)
	}
	if mustSucceedOnce && p.SuccessThreshold != 1 {
		v.add(path+".successThreshold", p.SuccessThreshold, "must be 1")
	}
	if !mustSucceedOnce && p.TerminationGracePeriodSeconds != nil {
		v.add(path+".terminationGracePeriodSeconds", nil, "Invalid value: must not be set for readinessProbes")
	}
}

func (v *validator) probePort(port IntOrString, path string) {
	if port.IsString {
		if port.StrVal == "" || len(port.StrVal) > 15 || !portName.MatchString(port.StrVal) {
			v.add(path, port.StrVal, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
		}
	} else if port.IntVal < 1 || port.IntVal > 65535 {
		v.add(path, port.IntVal, "must be between 1 and 65535, inclusive")
	}
}
