package controller

import (
	"context"
	"encoding/json"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/memory"
	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/reconcile"
)

// TestIngressPart: what a sync hands the ingress controller of an app's Ingresses: the
// class from the field or the old annotation, ImplementationSpecific as Prefix, an
// empty path as /, the TLS Secret's certificate and key, and the IngressClasses.
func TestIngressPart(t *testing.T) {
	objs, err := manifest.Parse([]manifest.File{{Path: "a.yaml", Data: []byte(`apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Secret
metadata: {name: cert}
type: kubernetes.io/tls
data: {tls.crt: Q0VSVA==, tls.key: S0VZ}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: mine
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: kgit.dev/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations: {kubernetes.io/ingress.class: mine}
spec:
  tls: [{hosts: [web.example], secretName: cert}]
  rules:
  - host: web.example
    http:
      paths:
      - {pathType: ImplementationSpecific, backend: {service: {name: web, port: {name: http}}}}
`)}})
	if err != nil {
		t.Fatal(err)
	}
	st := &State{Objects: map[manifest.Key]*Object{}}
	for _, o := range objs {
		st.Objects[o.Key()] = &Object{Applied: reconcile.Applied{Key: o.Key(), Object: o.Obj}}
	}
	r := New(memory.New(), "app", nil, nil)
	part, keys, err := r.ingressPart(context.Background(), st)
	if err != nil || len(keys) != 1 {
		t.Fatalf("ingressPart: %v, keys %v", err, keys)
	}
	got, _ := json.Marshal(part)
	want := `{"ingresses":[{"namespace":"default","name":"web","class":"mine","created":"0001-01-01T00:00:00Z",` +
		`"rules":[{"host":"web.example","path":"/","pathType":"Prefix","backend":{"service":"web:http","error":"the Service is headless (clusterIP: None): kgit's ingress controller sends traffic through a Service's address"}}],` +
		`"tls":[{"hosts":["web.example"],"cert":"CERT","key":"KEY"}]}],"classes":[{"name":"mine","controller":"kgit.dev/ingress-controller","default":true}]}`
	if string(got) != want {
		t.Errorf("part:\n%s\nwant\n%s", got, want)
	}

	// a backend resolves to the Service's address, or to its node port without one
	ref := &manifest.IngressServiceBackend{Name: "web", Port: manifest.ServiceBackendPort{Name: "http"}}
	rt := &backend.Service{ClusterIP: "127.255.0.9", NodePorts: map[int32]int32{80: 30080}, Spec: manifest.ServiceSpec{Ports: []manifest.ServicePort{{Name: "http", Port: 80}}}}
	if b := ingressBackend(rt, ref); b.Addr != "127.255.0.9:80" {
		t.Errorf("through the address: %+v", b)
	}
	rt.ClusterIP = ""
	if b := ingressBackend(rt, ref); b.Addr != "127.0.0.1:30080" {
		t.Errorf("through the node port: %+v", b)
	}
	rt.NodePorts = nil
	if b := ingressBackend(rt, ref); b.Addr != "" || b.Err == "" {
		t.Errorf("nowhere: %+v", b)
	}
}
