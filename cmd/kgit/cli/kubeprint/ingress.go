package kubeprint

import (
	"fmt"
	"io"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

func init() {
	register(&Printer{Kind: "Ingress", Columns: []Column{nameColumn,
		{Name: "CLASS", Cell: func(o Object, _ time.Time) string { return OrNone(o.Str("spec", "ingressClassName")) }},
		{Name: "HOSTS", Cell: func(o Object, _ time.Time) string { return ingressHosts(o) }},
		{Name: "ADDRESS", Cell: func(o Object, _ time.Time) string { return ingressAddress(o) }},
		{Name: "PORTS", Cell: func(o Object, _ time.Time) string { return ingressPorts(o) }},
		ageColumn,
	}, Describe: describeIngress})
}

// ingressHosts is kubectl's HOSTS: the rules' hosts ("*" for a rule of every host), at
// most four, then "+ N more...".
func ingressHosts(o Object) string {
	var hosts []string
	for _, r := range o.List("spec", "rules") {
		h := r.Str("host")
		if h == "" {
			h = "*"
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return "*"
	}
	if len(hosts) > 4 {
		return strings.Join(hosts[:4], ",") + fmt.Sprintf(" + %d more...", len(hosts)-4)
	}
	return strings.Join(hosts, ",")
}

// ingressAddress is kubectl's ADDRESS: the load balancer's addresses in the status.
func ingressAddress(o Object) string {
	var out []string
	for _, in := range o.List("status", "loadBalancer", "ingress") {
		if ip := in.Str("ip"); ip != "" {
			out = append(out, ip)
		} else if h := in.Str("hostname"); h != "" {
			out = append(out, h)
		}
	}
	return strings.Join(out, ",")
}

// ingressPorts is kubectl's PORTS ("80", or "80, 443" with TLS), except that where the
// status names the ports the controller answers on (kgit's are not 80 and 443), those
// are shown.
func ingressPorts(o Object) string {
	var ports []string
	for _, in := range o.List("status", "loadBalancer", "ingress") {
		for _, p := range in.List("ports") {
			ports = append(ports, fmt.Sprint(p.Int("port")))
		}
		if len(ports) > 0 {
			return strings.Join(ports, ", ")
		}
	}
	if len(o.List("spec", "tls")) > 0 {
		return "80, 443"
	}
	return "80"
}

// describeIngress prints the address, class, default backend, TLS and the rules as
// kubectl does.
func describeIngress(w io.Writer, o Object, _ []Object, _ time.Time) {
	var s manifest.IngressSpec
	o.Decode(&s, "spec")
	backend := func(b *manifest.IngressBackend) string {
		if b == nil || b.Service == nil {
			return "<default>"
		}
		return b.Service.Name + ":" + b.Service.Port.String()
	}
	field(w, "Ingress Class", OrNone(o.Str("spec", "ingressClassName")))
	field(w, "Address", ingressAddress(o))
	field(w, "Ports", ingressPorts(o))
	field(w, "Default backend", backend(s.DefaultBackend))
	for _, t := range s.TLS {
		field(w, "TLS", fmt.Sprintf("%s terminates %s", t.SecretName, strings.Join(t.Hosts, ",")))
	}
	fmt.Fprintln(w, "Rules:")
	fmt.Fprintf(w, "  %-20s %-24s %s\n", "Host", "Path", "Backends")
	for _, r := range s.Rules {
		host := r.Host
		if host == "" {
			host = "*"
		}
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			fmt.Fprintf(w, "  %-20s %-24s %s\n", host, p.Path+" ("+p.PathType+")", backend(&p.Backend))
		}
	}
}
