package manifest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestLookupKindByEveryName(t *testing.T) {
	for _, k := range Kinds() {
		names := append([]string{k.Kind, strings.ToLower(k.Kind), k.Plural, strings.ToUpper(k.Plural)}, k.ShortNames...)
		if k.Group != "" {
			names = append(names, strings.ToLower(k.Kind)+"."+k.Group, k.Plural+"."+k.Group)
		}
		for _, n := range names {
			if got, ok := LookupKind(n); !ok || got != k {
				t.Errorf("LookupKind(%q) = %v, %v; want %s", n, got, ok, k.Kind)
			}
		}
	}
	for alias, want := range map[string]string{
		"deploy": "Deployment", "deployment.apps": "Deployment", "po": "Pod", "svc": "Service", "cm": "ConfigMap",
		"sts": "StatefulSet", "ds": "DaemonSet", "rs": "ReplicaSet", "sa": "ServiceAccount", "netpol": "NetworkPolicy",
		"pdb": "PodDisruptionBudget", "quota": "ResourceQuota", "limits": "LimitRange", "pc": "PriorityClass",
		"ing": "Ingress", "cj": "CronJob", "hpa": "HorizontalPodAutoscaler", "pvc": "PersistentVolumeClaim",
		"ns": "Namespace", "crd": "CustomResourceDefinition", "crds": "CustomResourceDefinition",
		"clusterrolebindings.rbac.authorization.k8s.io": "ClusterRoleBinding", "jobs.batch": "Job",
	} {
		if k, ok := LookupKind(alias); !ok || k.Kind != want {
			t.Errorf("LookupKind(%q) = %v, %v; want %s", alias, k, ok, want)
		}
	}
	for _, n := range []string{"widgets", "deployments.example.com", "", "apps"} {
		if k, ok := LookupKind(n); ok {
			t.Errorf("LookupKind(%q) = %s, want none", n, k.Kind)
		}
	}
}

func TestGuessPlural(t *testing.T) {
	for kind, want := range map[string]string{"Widget": "widgets", "Policy": "policies", "Class": "classes", "Gateway": "gatewaies", "Endpoints": "endpoints"} {
		if got := GuessPlural(kind); got != want {
			t.Errorf("GuessPlural(%s) = %s, want %s", kind, got, want)
		}
	}
}

// modelledSamples holds a minimal valid manifest of each modelled kind.
var modelledSamples = map[string]string{
	"Deployment":              "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: web:1}]}\n",
	"ReplicaSet":              "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: web:1}]}\n",
	"DaemonSet":               "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: web:1}]}\n",
	"StatefulSet":             "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: web:1}]}\n",
	"Pod":                     "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: c, image: web:1}]}\n",
	"Service":                 "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
	"ConfigMap":               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n",
	"Secret":                  "apiVersion: v1\nkind: Secret\nmetadata: {name: web}\nstringData: {a: b}\n",
	"HorizontalPodAutoscaler": "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 3}\n",
	"Ingress":                 "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec: {defaultBackend: {service: {name: web, port: {number: 80}}}}\n",
	"CronJob":                 "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: web}\nspec:\n  schedule: '@hourly'\n  jobTemplate:\n    spec:\n      template:\n        spec: {restartPolicy: Never, containers: [{name: c, image: web:1}]}\n",
	"PersistentVolumeClaim":   "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: web}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
	"Job":                     "apiVersion: batch/v1\nkind: Job\nmetadata: {name: web}\nspec:\n  template:\n    spec: {restartPolicy: Never, containers: [{name: c, image: web:1}]}\n",
}

// TestModelledKindsRoundTrip decodes, defaults and validates a sample of every
// modelled kind, writes it back as JSON and decodes that again: the same object.
func TestModelledKindsRoundTrip(t *testing.T) {
	for _, k := range Kinds() {
		if !k.Modelled() {
			continue
		}
		t.Run(k.Kind, func(t *testing.T) {
			sample, ok := modelledSamples[k.Kind]
			if !ok {
				t.Fatalf("no sample of %s: add one to modelledSamples", k.Kind)
			}
			// what the sample refers to (an autoscaler's target, an Ingress's Service) is in
			// the manifests too
			refs := []File{}
			if k.references != nil {
				refs = append(refs, File{Path: "refs.yaml", Data: []byte(modelledSamples["Deployment"])},
					File{Path: "svc.yaml", Data: []byte(modelledSamples["Service"])})
			}
			objs, err := Parse(append([]File{{Path: "a.yaml", Data: []byte(sample)}}, refs...))
			if err != nil {
				t.Fatal(err)
			}
			o := objs[0]
			if o.Kind() != k || o.Key() != (Key{Kind: k.Kind, Namespace: DefaultNamespace, Name: "web"}) {
				t.Fatalf("decoded as %s %v", o.Kind().Kind, o.Key())
			}
			if _, ok := o.Obj.(*Unstructured); ok {
				t.Fatal("a modelled kind decoded as Unstructured")
			}
			data, err := json.Marshal(o.Obj)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(append([]File{{Path: "a.json", Data: data}}, refs...))
			if err != nil {
				t.Fatalf("the defaulted object does not decode again: %v\n%s", err, data)
			}
			if diff := cmp.Diff(o.Obj, again[0].Obj); diff != "" {
				t.Errorf("round trip (-first +second):\n%s", diff)
			}
			if (o.PodSpec() != nil) != (k.pod != nil) {
				t.Errorf("PodSpec() = %v with pod access %v", o.PodSpec() != nil, k.pod != nil)
			}
			if New(k.Kind) == nil || New(k.Kind).GetTypeMeta() == nil {
				t.Errorf("New(%s) has no TypeMeta", k.Kind)
			}
		})
	}
}

// TestRepositoryOfUnmodelledKinds loads a tree shaped as real repositories are (RBAC,
// NetworkPolicy, a PodDisruptionBudget, CRDs and custom resources, LoadBalancer and
// ExternalName Services) and checks that every document is kept as written.
func TestRepositoryOfUnmodelledKinds(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/kinds/*.yaml")
	var files []File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Path: filepath.Base(p), Data: data})
	}
	objs, err := Parse(files)
	if err != nil {
		t.Fatal(err)
	}
	keys := keysOf(objs)
	want := []string{
		"CustomResourceDefinition//widgets.example.com", "CustomResourceDefinition//gadgets.example.com",
		"NetworkPolicy/shop/web-ingress", "PodDisruptionBudget/shop/web",
		"ServiceAccount/shop/web", "Role/shop/web-reader", "RoleBinding/shop/web-reader",
		"ClusterRole//system:shop:widget-editor", "ClusterRoleBinding//system:shop:widget-editor",
		"Widget/default/big-red", "Gadget//one", "Service/shop/edge", "Service/shop/db",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	// Every field of every unmodelled document is kept: Raw is the document as written.
	docs := map[string]any{}
	for _, f := range files {
		for _, doc := range strings.Split(string(f.Data), "\n---\n") {
			j, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(j))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			md := m["metadata"].(map[string]any)
			docs[m["kind"].(string)+"/"+md["name"].(string)] = m
		}
	}
	for _, o := range objs {
		u, ok := o.Obj.(*Unstructured)
		if !ok {
			continue
		}
		var got map[string]any
		dec := json.NewDecoder(bytes.NewReader(u.Raw))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(docs[u.Kind+"/"+u.Name], got); diff != "" {
			t.Errorf("%s/%s not kept as written (-written +kept):\n%s", u.Kind, u.Name, diff)
		}
	}
	widget := objs[9].Obj.(*Unstructured)
	if !strings.Contains(string(widget.Raw), `"size":9007199254740993`) {
		t.Errorf("a large integer lost precision: %s", widget.Raw)
	}
	// Written back (a record), it has the namespace defaulting gave it, and the rest.
	data, err := json.Marshal(widget)
	if err != nil {
		t.Fatal(err)
	}
	var back Unstructured
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Namespace != "default" || back.Name != "big-red" || !strings.Contains(string(data), `"finalizers":["example.com/cleanup"]`) ||
		!strings.Contains(string(data), `"size":9007199254740993`) {
		t.Errorf("written back: %s", data)
	}
	if again, _ := json.Marshal(&back); string(again) != string(data) {
		t.Errorf("an unchanged object is not written as it was read:\n%s\n%s", again, data)
	}
	// A custom resource's kind comes from its CustomResourceDefinition.
	if k := objs[9].Kind(); k.Plural != "widgets" || k.Resource() != "widgets.example.com" || len(k.ShortNames) != 1 || !k.Namespaced {
		t.Errorf("Widget's kind: %+v", k)
	}
	if k := objs[10].Kind(); k.Namespaced {
		t.Errorf("Gadget is cluster-scoped by its CRD: %+v", k)
	}

	var warnings []string
	for _, o := range objs {
		for _, w := range Unhonoured(o, "process", nil) {
			warnings = append(warnings, w.String())
		}
	}
	for _, w := range KindWarnings(objs, "process") {
		warnings = append(warnings, w.String())
	}
	wantWarnings := []string{
		"ClusterRole: kept as a record; the process backend does not enforce it",
		"ClusterRoleBinding: kept as a record; the process backend does not enforce it",
		"CustomResourceDefinition: kept as a record; the process backend does not enforce it",
		"Gadget: kept as a record; the process backend does not enforce it",
		"NetworkPolicy: kept as a record; the process backend does not enforce it",
		"PodDisruptionBudget: kept as a record; the process backend does not enforce it",
		"Role: kept as a record; the process backend does not enforce it",
		"RoleBinding: kept as a record; the process backend does not enforce it",
		"ServiceAccount: kept as a record; the process backend does not enforce it",
		"Widget: kept as a record; the process backend does not enforce it",
	}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestUnmodelledKindErrors(t *testing.T) {
	for doc, want := range map[string]string{
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: Bad_NS}\n":                            `a.yaml:3: metadata.namespace: Invalid value: "Bad_NS"`,
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {labels: {a: b}}\n":                                        "a.yaml:3: metadata.name: Required value",
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: {a: b}}\n":                                          "a.yaml:3: metadata.name: expected a string, got a mapping",
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: a/b}\n":                             `a.yaml:3: metadata.name: Invalid value: "a/b": may not contain '/' or '%'`,
		"apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: a}\n":                                         "kind Deployment has apiVersion apps/v1",
		"apiVersion: v1\nkind: Widget\n":                                                                            "a.yaml:1: metadata.name: Required value",
		"apiVersion: /v1\nkind: Widget\nmetadata: {name: a}\n":                                                      "a.yaml:1: apiVersion: Invalid value",
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: ExternalName}\n":                          "a.yaml:4: spec.externalName: Required value",
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: Balanced, ports: [{port: 1}]}\n":          `spec.type: Invalid value: "Balanced": Unsupported value`,
		"apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: a}\nspec:\n" + strings.Repeat(" ", 0) + deep(70): "nested deeper than 64 levels",
	} {
		_, err := Parse([]File{{Path: "a.yaml", Data: []byte(doc)}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s\nerror %v, want %q", doc, err, want)
		}
	}
	// A kind of kgit's under a group of one's own is a custom resource.
	objs, err := Parse([]File{{Path: "a.yaml", Data: []byte("apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {anything: 1}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := objs[0].Obj.(*Unstructured); !ok || objs[0].Kind().Resource() != "deployments.example.com" {
		t.Errorf("example.com/v1 Deployment: %T %+v", objs[0].Obj, objs[0].Kind())
	}
}

func deep(n int) string {
	return "  a: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"
}

// keysOf names each object kind/namespace/name.
func keysOf(objs []*Object) []string {
	var keys []string
	for _, o := range objs {
		k := o.Key()
		keys = append(keys, k.Kind+"/"+k.Namespace+"/"+k.Name)
	}
	return keys
}
