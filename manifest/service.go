package manifest

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
)

func init() {
	register(&Kind{Kind: "Service", Versions: []string{"v1"}, Plural: "services", ShortNames: []string{"svc"}, Namespaced: true,
		New:        func() Resource { return new(Service) },
		defaults:   func(r Resource) { defaultService(&r.(*Service).Spec) },
		validate:   func(v *validator, r Resource) { v.service(&r.(*Service).Spec) },
		unhonoured: unhonouredServiceFields,
	})
}

// unhonouredServiceFields are the Service fields kgit accepts and does not honour: it
// has one node, no cluster DNS and no load balancer.
var unhonouredServiceFields = []string{"spec.sessionAffinity", "spec.sessionAffinityConfig", "spec.externalTrafficPolicy",
	"spec.internalTrafficPolicy", "spec.externalIPs", "spec.loadBalancerIP", "spec.loadBalancerSourceRanges", "spec.loadBalancerClass",
	"spec.allocateLoadBalancerNodePorts", "spec.healthCheckNodePort", "spec.ipFamilies", "spec.ipFamilyPolicy", "spec.trafficDistribution",
	"spec.clusterIPs", "spec.ports[].appProtocol", "spec.clusterIP"}

// Service is v1 Service: a stable address in front of the ready pods its selector
// picks. kgit routes ClusterIP, NodePort and LoadBalancer Services (TCP; a load
// balancer on 127.0.0.1), and gives pods an ExternalName Service's name.
type Service struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ServiceSpec `json:"spec"`
}

// ServiceSpec is v1 ServiceSpec.
type ServiceSpec struct {
	Type                          string            `json:"type,omitempty"`
	Selector                      map[string]string `json:"selector,omitempty"`
	Ports                         []ServicePort     `json:"ports,omitempty"`
	ClusterIP                     string            `json:"clusterIP,omitempty"`
	ExternalName                  string            `json:"externalName,omitempty"`
	ClusterIPs                    []string          `json:"clusterIPs,omitempty"`
	SessionAffinity               string            `json:"sessionAffinity,omitempty"`
	PublishNotReadyAddresses      bool              `json:"publishNotReadyAddresses,omitempty"`
	ExternalTrafficPolicy         string            `json:"externalTrafficPolicy,omitempty"`
	InternalTrafficPolicy         *string           `json:"internalTrafficPolicy,omitempty"`
	IPFamilies                    json.RawMessage   `json:"ipFamilies,omitempty"`
	IPFamilyPolicy                *string           `json:"ipFamilyPolicy,omitempty"`
	ExternalIPs                   json.RawMessage   `json:"externalIPs,omitempty"`
	SessionAffinityConfig         json.RawMessage   `json:"sessionAffinityConfig,omitempty"`
	LoadBalancerIP                string            `json:"loadBalancerIP,omitempty"`
	LoadBalancerSourceRanges      json.RawMessage   `json:"loadBalancerSourceRanges,omitempty"`
	LoadBalancerClass             *string           `json:"loadBalancerClass,omitempty"`
	AllocateLoadBalancerNodePorts *bool             `json:"allocateLoadBalancerNodePorts,omitempty"`
	HealthCheckNodePort           int32             `json:"healthCheckNodePort,omitempty"`
	TrafficDistribution           *string           `json:"trafficDistribution,omitempty"`
}

// ServicePort is v1 ServicePort.
type ServicePort struct {
	Name        string      `json:"name,omitempty"`
	Protocol    string      `json:"protocol,omitempty"`
	AppProtocol *string     `json:"appProtocol,omitempty"`
	Port        int32       `json:"port"`
	TargetPort  IntOrString `json:"targetPort,omitempty"`
	NodePort    int32       `json:"nodePort,omitempty"`
}

// Service types.
const (
	ServiceClusterIP    = "ClusterIP"
	ServiceNodePort     = "NodePort"
	ServiceLoadBalancer = "LoadBalancer"
	ServiceExternalName = "ExternalName"
)

// NodePortRange is Kubernetes' default service-node-port-range.
const NodePortMin, NodePortMax = 30000, 32767

func defaultService(s *ServiceSpec) {
	if s.Type == "" {
		s.Type = ServiceClusterIP
	}
	if s.SessionAffinity == "" {
		s.SessionAffinity = "None"
	}
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		if !p.TargetPort.IsString && p.TargetPort.IntVal == 0 {
			p.TargetPort = FromInt(p.Port)
		}
	}
}

func (v *validator) service(s *ServiceSpec) {
	switch s.Type {
	case ServiceClusterIP, ServiceNodePort, ServiceLoadBalancer:
	case ServiceExternalName:
		if s.ExternalName == "" {
			v.add("spec.externalName", nil, "Required value")
		} else {
			v.dnsSubdomain(strings.TrimSuffix(s.ExternalName, "."), "spec.externalName")
		}
	default:
		v.add("spec.type", s.Type, "Unsupported value: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"")
	}
	if s.ClusterIP != "" && s.ClusterIP != "None" {
		v.add("spec.clusterIP", s.ClusterIP, "Forbidden: kgit assigns the address; leave clusterIP unset (or \"None\")")
	}
	if len(s.Ports) == 0 && s.ClusterIP != "None" && s.Type != ServiceExternalName {
		v.add("spec.ports", nil, "Required value")
	}
	for k := range s.Selector {
		v.labelKey(k, "spec.selector")
	}
	names, ports := map[string]bool{}, map[int32]bool{}
	for i, p := range s.Ports {
		at := fmt.Sprintf("spec.ports[%d]", i)
		if len(s.Ports) > 1 && p.Name == "" {
			v.add(at+".name", nil, "Required value: a name is required when there is more than one port")
		}
		if p.Name != "" {
			v.dnsLabel(p.Name, at+".name")
			if names[p.Name] {
				v.add(at+".name", p.Name, "Duplicate value")
			}
			names[p.Name] = true
		}
		if p.Port < 1 || p.Port > 65535 {
			v.add(at+".port", p.Port, "must be between 1 and 65535, inclusive")
		}
		if ports[p.Port] {
			v.add(at+".port", p.Port, "Duplicate value")
		}
		ports[p.Port] = true
		if p.Protocol != "TCP" {
			v.add(at+".protocol", p.Protocol, "Unsupported value: kgit routes \"TCP\"")
		}
		if !p.TargetPort.IsString && (p.TargetPort.IntVal < 1 || p.TargetPort.IntVal > 65535) {
			v.add(at+".targetPort", p.TargetPort.IntVal, "must be between 1 and 65535, inclusive")
		}
		switch {
		case p.NodePort != 0 && s.Type != ServiceNodePort && s.Type != ServiceLoadBalancer:
			v.add(at+".nodePort", p.NodePort, "Forbidden: may not be used when `type` is '%s'", s.Type)
		case p.NodePort != 0 && (p.NodePort < NodePortMin || p.NodePort > NodePortMax):
			v.add(at+".nodePort", p.NodePort, "Invalid value: provided port is not in the valid range. The range of valid ports is %d-%d", NodePortMin, NodePortMax)
		}
	}
}

// ServiceLinks returns the variables Kubernetes gives a pod for a Service at ip:
// NAME_SERVICE_HOST, NAME_SERVICE_PORT (the first port), NAME_SERVICE_PORT_PORTNAME for
// named ports, and the Docker-link style NAME_PORT and NAME_PORT_P_TCP{,_PROTO,_PORT,_ADDR}.
func ServiceLinks(name, ip string, ports []ServicePort) []EnvVar {
	if len(ports) == 0 || ip == "" || ip == "None" {
		return nil
	}
	up := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
	n := up(name)
	first := strconv.Itoa(int(ports[0].Port))
	vars := []EnvVar{{Name: n + "_SERVICE_HOST", Value: ip}, {Name: n + "_SERVICE_PORT", Value: first}}
	for _, p := range ports {
		if p.Name != "" {
			vars = append(vars, EnvVar{Name: n + "_SERVICE_PORT_" + up(p.Name), Value: strconv.Itoa(int(p.Port))})
		}
	}
	proto := strings.ToLower(ports[0].Protocol)
	vars = append(vars, EnvVar{Name: n + "_PORT", Value: proto + "://" + net.JoinHostPort(ip, first)})
	for _, p := range ports {
		port, pr := strconv.Itoa(int(p.Port)), strings.ToLower(p.Protocol)
		prefix := n + "_PORT_" + port + "_" + strings.ToUpper(pr)
		vars = append(vars,
			EnvVar{Name: prefix, Value: pr + "://" + net.JoinHostPort(ip, port)},
			EnvVar{Name: prefix + "_PROTO", Value: pr},
			EnvVar{Name: prefix + "_PORT", Value: port},
			EnvVar{Name: prefix + "_ADDR", Value: ip})
	}
	return vars
}
