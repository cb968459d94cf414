package manifest

import (
	"encoding/json"
	"fmt"
	"strings"
)

func init() {
	register(&Kind{Kind: "Ingress", Group: "networking.k8s.io", Versions: []string{"v1"}, Plural: "ingresses", ShortNames: []string{"ing"}, Namespaced: true,
		New:        func() Resource { return new(Ingress) },
		validate:   func(v *validator, r Resource) { v.ingressSpec(&r.(*Ingress).Spec) },
		references: ingressReferences,
		unhonoured: []string{"spec.defaultBackend.resource", "spec.rules[].http.paths[].backend.resource"},
	})
}

// Ingress is networking.k8s.io/v1 Ingress: HTTP routes by host and path to Services.
// On the local backends kgit's own ingress controller serves it (class IngressClassName).
type Ingress struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       IngressSpec `json:"spec"`
}

// IngressSpec is networking.k8s.io/v1 IngressSpec.
type IngressSpec struct {
	IngressClassName *string         `json:"ingressClassName,omitempty"`
	DefaultBackend   *IngressBackend `json:"defaultBackend,omitempty"`
	TLS              []IngressTLS    `json:"tls,omitempty"`
	Rules            []IngressRule   `json:"rules,omitempty"`
}

// IngressTLS is networking.k8s.io/v1 IngressTLS: the hosts a kubernetes.io/tls Secret's
// certificate serves.
type IngressTLS struct {
	Hosts      []string `json:"hosts,omitempty"`
	SecretName string   `json:"secretName,omitempty"`
}

// IngressRule is networking.k8s.io/v1 IngressRule.
type IngressRule struct {
	Host string                `json:"host,omitempty"`
	HTTP *HTTPIngressRuleValue `json:"http,omitempty"`
}

// HTTPIngressRuleValue is networking.k8s.io/v1 HTTPIngressRuleValue.
type HTTPIngressRuleValue struct {
	Paths []HTTPIngressPath `json:"paths"`
}

// HTTPIngressPath is networking.k8s.io/v1 HTTPIngressPath.
type HTTPIngressPath struct {
	Path     string         `json:"path,omitempty"`
	PathType string         `json:"pathType"`
	Backend  IngressBackend `json:"backend"`
}

// IngressBackend is networking.k8s.io/v1 IngressBackend: a Service's port (a resource
// backend is accepted and not served).
type IngressBackend struct {
	Service  *IngressServiceBackend `json:"service,omitempty"`
	Resource json.RawMessage        `json:"resource,omitempty"`
}

// IngressServiceBackend is networking.k8s.io/v1 IngressServiceBackend.
type IngressServiceBackend struct {
	Name string             `json:"name"`
	Port ServiceBackendPort `json:"port,omitempty"`
}

// ServiceBackendPort is networking.k8s.io/v1 ServiceBackendPort: a port's name or number.
type ServiceBackendPort struct {
	Name   string `json:"name,omitempty"`
	Number int32  `json:"number,omitempty"`
}

// String is the port as kubectl describe shows it: 80, or http.
func (p ServiceBackendPort) String() string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprint(p.Number)
}

// Path types.
const (
	PathExact                  = "Exact"
	PathPrefix                 = "Prefix"
	PathImplementationSpecific = "ImplementationSpecific"
)

// IngressClassController is the controller an IngressClass names for kgit's own
// ingress controller; IngressClassKgit is the class name kgit serves (besides
// Ingresses with no class, and the class an IngressClass marks default).
const (
	IngressClassController = "kgit.dev/ingress-controller"
	IngressClassKgit       = "kgit"
	// DefaultIngressClassAnnotation marks the default IngressClass.
	DefaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"
)

func (v *validator) ingressSpec(s *IngressSpec) {
	if len(s.Rules) == 0 && s.DefaultBackend == nil {
		v.add("spec", nil, "Invalid value: either `defaultBackend` or `rules` must be specified")
	}
	if s.IngressClassName != nil {
		v.dnsSubdomain(*s.IngressClassName, "spec.ingressClassName")
	}
	if s.DefaultBackend != nil {
		v.ingressBackend(s.DefaultBackend, "spec.defaultBackend")
	}
	for i, t := range s.TLS {
		for j, h := range t.Hosts {
			v.ingressHost(h, fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j))
		}
		if t.SecretName != "" {
			v.dnsSubdomain(t.SecretName, fmt.Sprintf("spec.tls[%d].secretName", i))
		}
	}
	for i, r := range s.Rules {
		at := fmt.Sprintf("spec.rules[%d]", i)
		if r.Host != "" {
			v.ingressHost(r.Host, at+".host")
		}
		if r.HTTP == nil {
			continue
		}
		if len(r.HTTP.Paths) == 0 {
			v.add(at+".http.paths", nil, "Required value")
		}
		for j, p := range r.HTTP.Paths {
			pat := fmt.Sprintf("%s.http.paths[%d]", at, j)
			switch p.PathType {
			case "":
				v.add(pat+".pathType", nil, "Required value: pathType must be specified")
			case PathExact, PathPrefix:
				if !strings.HasPrefix(p.Path, "/") {
					v.add(pat+".path", p.Path, "must be an absolute path")
				}
			case PathImplementationSpecific:
				if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
					v.add(pat+".path", p.Path, "must be an absolute path")
				}
			default:
				v.add(pat+".pathType", p.PathType, "Unsupported value: supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"")
			}
			v.ingressBackend(&p.Backend, pat+".backend")
		}
	}
}

// ingressHost is Kubernetes' rule for a rule's host: a DNS name, not an IP address,
// optionally with a leading "*." wildcard label.
func (v *validator) ingressHost(h, path string) {
	name := strings.TrimPrefix(h, "*.")
	if strings.Contains(name, "*") {
		v.add(path, h, "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain")
		return
	}
	v.dnsSubdomain(name, path)
}

func (v *validator) ingressBackend(b *IngressBackend, path string) {
	switch {
	case b.Service != nil && len(b.Resource) > 0:
		v.add(path, nil, "Invalid value: cannot set both resource and service backends")
	case b.Service == nil && len(b.Resource) == 0:
		v.add(path+".service", nil, "Required value")
	case b.Service != nil:
		s := b.Service
		if s.Name == "" {
			v.add(path+".service.name", nil, "Required value")
		} else {
			v.dnsLabel(s.Name, path+".service.name")
		}
		switch {
		case s.Port.Name != "" && s.Port.Number != 0:
			v.add(path+".service.port", nil, "Invalid value: cannot set both port name & port number")
		case s.Port.Name == "" && s.Port.Number == 0:
			v.add(path+".service.port", nil, "Invalid value: port name or number is required")
		case s.Port.Number < 0 || s.Port.Number > 65535:
			v.add(path+".service.port.number", s.Port.Number, "must be between 1 and 65535, inclusive")
		}
	}
}

// ingressReferences checks that every Service an Ingress routes to, and its port, is in
// git (in the Ingress's namespace), and that a TLS Secret is a kubernetes.io/tls Secret
// there: kgit serves what git says, so a route to nothing is a mistake to catch before
// anything changes.
func ingressReferences(v *validator, r Resource, objs map[Key]*Object) {
	in := r.(*Ingress)
	check := func(b *IngressBackend, path string) {
		if b == nil || b.Service == nil {
			return
		}
		o := objs[Key{Kind: "Service", Namespace: in.Namespace, Name: b.Service.Name}]
		if o == nil {
			v.add(path+".service.name", b.Service.Name, "Not found: Service %q is not in the manifests (namespace %s)", b.Service.Name, in.Namespace)
			return
		}
		svc := o.Obj.(*Service)
		for _, sp := range svc.Spec.Ports {
			if b.Service.Port.Name != "" && sp.Name == b.Service.Port.Name || b.Service.Port.Number != 0 && sp.Port == b.Service.Port.Number {
				return
			}
		}
		field := path + ".service.port.number"
		var value any = b.Service.Port.Number
		if b.Service.Port.Name != "" {
			field, value = path+".service.port.name", b.Service.Port.Name
		}
		v.add(field, value, "Not found: Service %q has no such port", b.Service.Name)
	}
	check(in.Spec.DefaultBackend, "spec.defaultBackend")
	for i, rule := range in.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for j := range rule.HTTP.Paths {
			check(&rule.HTTP.Paths[j].Backend, fmt.Sprintf("spec.rules[%d].http.paths[%d].backend", i, j))
		}
	}
	for i, t := range in.Spec.TLS {
		if t.SecretName == "" {
			continue
		}
		path := fmt.Sprintf("spec.tls[%d].secretName", i)
		o := objs[Key{Kind: "Secret", Namespace: in.Namespace, Name: t.SecretName}]
		if o == nil {
			v.add(path, t.SecretName, "Not found: Secret %q is not in the manifests (namespace %s)", t.SecretName, in.Namespace)
		} else if s := o.Obj.(*Secret); s.Type != "kubernetes.io/tls" {
			v.add(path, t.SecretName, "Invalid value: Secret %q has type %q, not kubernetes.io/tls", t.SecretName, s.Type)
		}
	}
}
