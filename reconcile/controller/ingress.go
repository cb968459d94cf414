package controller

import (
	"context"
	"encoding/base64"
	"net"
	"slices"
	"sort"
	"strconv"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/ingress"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// routeIngresses gives kgit's ingress controller the app's Ingresses (each backend
// resolved to its Service's address), IngressClasses and TLS certificates, and has it
// started, reloaded or stopped. An app with none, which the controller never served,
// costs nothing. A controller that cannot listen is said in an event on each Ingress:
// the sync goes on, since pods and Services are fine.
func (r *Local) routeIngresses(ctx context.Context, st *State) error {
	host, ok := backend.IngressHostOf(r.Backend)
	if !ok {
		return nil
	}
	dir := host.IngressDir()
	part, keys, err := r.ingressPart(ctx, st)
	if err != nil {
		return err
	}
	if part == nil && !ingress.HasApp(dir, r.App) {
		return nil
	}
	listen, err := ingress.ListenFromEnv()
	if err != nil {
		return err
	}
	status, err := ingress.Update(ctx, dir, r.App, part, listen)
	if err != nil {
		for _, k := range keys {
			r.event(reconcile.ObjectName(k), "IngressControllerFailed", "%v", err)
		}
		return nil
	}
	for i, k := range keys {
		if status == nil || !slices.Contains(status.Served, ingress.ServedKey(r.App, k.Namespace, k.Name)) {
			r.event(reconcile.ObjectName(k), "IngressNotServed", "not served: its class %q is not kgit's (kgit serves Ingresses of no class, of class %q, and of an IngressClass whose controller is %s)",
				part.Ingresses[i].Class, manifest.IngressClassKgit, manifest.IngressClassController)
		}
	}
	return nil
}

// ingressPart is the app's part of the controller's configuration (nil: it has no
// Ingress nor IngressClass), and the keys of its Ingresses.
func (r *Local) ingressPart(ctx context.Context, st *State) (*ingress.App, []manifest.Key, error) {
	var ings []*Object
	var classes []ingress.Class
	for _, a := range sortedApplied(st) {
		switch obj := a.Object.(type) {
		case *manifest.Ingress:
			ings = append(ings, a)
		case *manifest.Unstructured:
			if a.Key.Kind == "IngressClass" {
				classes = append(classes, ingressClass(obj))
			}
		}
	}
	if len(ings) == 0 && len(classes) == 0 {
		return nil, nil, nil
	}
	routes := map[string]*backend.Service{}
	if router, ok := backend.RouterOf(r.Backend); ok && len(ings) > 0 {
		rts, err := router.Routes(ctx, map[string]string{backend.LabelApp: r.App})
		if err != nil {
			return nil, nil, err
		}
		for _, rt := range rts {
			routes[rt.Namespace+"/"+rt.Name] = rt
		}
	}
	part := &ingress.App{Classes: classes}
	var keys []manifest.Key
	for _, a := range ings {
		in := a.Object.(*manifest.Ingress)
		keys = append(keys, a.Key)
		out := ingress.Ingress{Namespace: in.Namespace, Name: in.Name, Created: a.Created}
		if in.Spec.IngressClassName != nil {
			out.Class = *in.Spec.IngressClassName
		} else {
			out.Class = in.Annotations["kubernetes.io/ingress.class"] // the annotation before the field
		}
		resolve := func(b *manifest.IngressBackend) *ingress.Backend {
			if b == nil || b.Service == nil {
				return nil
			}
			return ingressBackend(routes[in.Namespace+"/"+b.Service.Name], b.Service)
		}
		out.Default = resolve(in.Spec.DefaultBackend)
		for _, rule := range in.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				b := resolve(&p.Backend)
				if b == nil {
					continue // a resource backend: not served (a warning said so)
				}
				pt, path := p.PathType, p.Path
				if pt == manifest.PathImplementationSpecific {
					pt = manifest.PathPrefix
				}
				if path == "" {
					path = "/"
				}
				out.Rules = append(out.Rules, ingress.Rule{Host: rule.Host, Path: path, PathType: pt, Backend: *b})
			}
		}
		for _, t := range in.Spec.TLS {
			if s, ok := st.Objects[manifest.Key{Kind: "Secret", Namespace: in.Namespace, Name: t.SecretName}]; ok {
				if sec, ok := s.Object.(*manifest.Secret); ok {
					out.TLS = append(out.TLS, ingress.TLS{Hosts: t.Hosts, Cert: secretValue(sec, "tls.crt"), Key: secretValue(sec, "tls.key")})
				}
			}
		}
		part.Ingresses = append(part.Ingresses, out)
	}
	sort.Slice(part.Classes, func(i, j int) bool { return part.Classes[i].Name < part.Classes[j].Name })
	return part, keys, nil
}

// ingressBackend resolves a Service's port to where its proxy answers.
func ingressBackend(rt *backend.Service, ref *manifest.IngressServiceBackend) *ingress.Backend {
	b := &ingress.Backend{Service: ref.Name + ":" + ref.Port.String()}
	switch {
	case rt == nil:
		b.Err = "the Service is headless (clusterIP: None): kgit's ingress controller sends traffic through a Service's address"
		return b
	}
	for _, sp := range rt.Spec.Ports {
		if ref.Port.Name != "" && sp.Name == ref.Port.Name || ref.Port.Number != 0 && sp.Port == ref.Port.Number {
			switch np := rt.NodePorts[sp.Port]; {
			case rt.ClusterIP != "":
				b.Addr = net.JoinHostPort(rt.ClusterIP, strconv.Itoa(int(sp.Port)))
			case np != 0: // a docker Service left without an address keeps its node ports
				b.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(np)))
			default:
				b.Err = "the Service has no cluster address on this backend"
			}
			return b
		}
	}
	b.Err = "the Service has no such port"
	return b
}

// ingressClass reads what the controller needs of an IngressClass (kgit keeps it as a
// record): its name, controller, and whether it is the default class.
func ingressClass(u *manifest.Unstructured) ingress.Class {
	c := ingress.Class{Name: u.Name, Default: u.Annotations[manifest.DefaultIngressClassAnnotation] == "true"}
	if m, err := u.Map(); err == nil {
		if spec, ok := m["spec"].(map[string]any); ok {
			c.Controller, _ = spec["controller"].(string)
		}
	}
	return c
}

// secretValue is one key of a Secret, from data (base64) or stringData.
func secretValue(s *manifest.Secret, key string) string {
	if v, ok := s.StringData[key]; ok {
		return v
	}
	b, _ := base64.StdEncoding.DecodeString(s.Data[key])
	return string(b)
}
