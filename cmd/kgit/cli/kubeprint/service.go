package kubeprint

import (
	"fmt"
	"io"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

func init() {
	register(&Printer{Kind: "Service", Columns: []Column{nameColumn,
		{Name: "TYPE", Cell: func(o Object, _ time.Time) string { return o.Str("spec", "type") }},
		{Name: "CLUSTER-IP", Cell: func(o Object, _ time.Time) string { return OrNone(o.Str("spec", "clusterIP")) }},
		{Name: "EXTERNAL-IP", Cell: func(o Object, _ time.Time) string { return externalIP(o) }},
		{Name: "PORT(S)", Cell: func(o Object, _ time.Time) string {
			var ports []string
			for _, p := range o.List("spec", "ports") {
				port := fmt.Sprint(p.Int("port"))
				if np := p.Int("nodePort"); np != 0 {
					port += fmt.Sprintf(":%d", np)
				}
				ports = append(ports, port+"/"+p.Str("protocol"))
			}
			return OrNone(strings.Join(ports, ","))
		}},
		ageColumn,
		{Name: "SELECTOR", Wide: true, Cell: func(o Object, _ time.Time) string {
			return OrNone((&manifest.LabelSelector{MatchLabels: o.StrMap("spec", "selector")}).String())
		}},
	}, Describe: describeService})
}

// externalIP is kubectl's EXTERNAL-IP: a LoadBalancer's ingress addresses (<pending>
// until it has one), an ExternalName's name, else <none>.
func externalIP(o Object) string {
	switch o.Str("spec", "type") {
	case manifest.ServiceLoadBalancer:
		var ips []string
		for _, in := range o.List("status", "loadBalancer", "ingress") {
			if ip := in.Str("ip"); ip != "" {
				ips = append(ips, ip)
			} else if h := in.Str("hostname"); h != "" {
				ips = append(ips, h)
			}
		}
		if len(ips) == 0 {
			return "<pending>"
		}
		return strings.Join(ips, ",")
	case manifest.ServiceExternalName:
		return o.Str("spec", "externalName")
	}
	return "<none>"
}

// describeService prints a Service's type, address, ports and the ready pods it sends
// traffic to (its Endpoints, among related).
func describeService(w io.Writer, o Object, related []Object, _ time.Time) {
	var s manifest.ServiceSpec
	o.Decode(&s, "spec")
	field(w, "Selector", OrNone((&manifest.LabelSelector{MatchLabels: s.Selector}).String()))
	field(w, "Type", s.Type)
	field(w, "IP", OrNone(s.ClusterIP))
	switch s.Type {
	case manifest.ServiceLoadBalancer:
		field(w, "LoadBalancer Ingress", externalIP(o))
	case manifest.ServiceExternalName:
		field(w, "External Name", s.ExternalName)
	}
	for _, p := range s.Ports {
		field(w, "Port", fmt.Sprintf("%s %d/%s", OrNone(p.Name), p.Port, p.Protocol))
		field(w, "TargetPort", p.TargetPort.String()+"/"+p.Protocol)
		if p.NodePort != 0 {
			field(w, "NodePort", fmt.Sprintf("%s %d/%s (127.0.0.1)", OrNone(p.Name), p.NodePort, p.Protocol))
		}
	}
	var eps []string
	for _, e := range related {
		if e.Str("kind") != "Endpoints" || e.Str("metadata", "name") != o.Str("metadata", "name") {
			continue
		}
		for _, sub := range e.List("subsets") {
			for _, a := range sub.List("addresses") {
				for _, p := range sub.List("ports") {
					eps = append(eps, fmt.Sprintf("%s:%d", a.Str("ip"), p.Int("port")))
				}
			}
		}
	}
	field(w, "Endpoints", OrNone(strings.Join(eps, ",")))
}
