package manifest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBadCorpus decodes, defaults and validates each file of testdata/bad: each must be
// rejected with an error matching its "# want:" line.
func TestBadCorpus(t *testing.T) {
	files, err := filepath.Glob("../testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("%s has no '# want:' line", f)
			}
			_, err = Parse([]File{{Path: filepath.Base(f), Data: data}})
			if err == nil {
				t.Fatalf("accepted, want an error matching %q", want)
			}
			if !regexp.MustCompile(want).MatchString(err.Error()) {
				t.Errorf("error:\n%v\nwant a match for %q", err, want)
			}
		})
	}
}

func TestParseMultiDocumentYAMLAndJSON(t *testing.T) {
	yamlFile := `
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers: [{name: c, image: "busybox"}]
---
# only a comment
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "web:v1", ports: [{containerPort: 80}]}]
`
	jsonFile := `{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
 "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}`
	objs, err := Parse([]File{{Path: "a.yaml", Data: []byte(yamlFile)}, {Path: "b.json", Data: []byte(jsonFile)}})
	if err != nil {
		t.Fatal(err)
	}
	keys := keysOf(objs)
	if diff := cmp.Diff([]string{"Pod/default/a", "Deployment/prod/web", "ReplicaSet/default/rs"}, keys); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	d := objs[1].Obj.(*Deployment)
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "RollingUpdate" || d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" ||
		*d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("deployment defaults not applied: %+v", d.Spec)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.ImagePullPolicy != "IfNotPresent" || c.Ports[0].Protocol != "TCP" || d.Spec.Template.Spec.RestartPolicy != "Always" ||
		*d.Spec.Template.Spec.TerminationGracePeriodSeconds != 30 {
		t.Errorf("pod defaults not applied: %+v", d.Spec.Template.Spec)
	}
	if p := objs[0].Obj.(*Pod); p.Spec.Containers[0].ImagePullPolicy != "Always" {
		t.Errorf("an untagged image should default to imagePullPolicy Always, got %q", p.Spec.Containers[0].ImagePullPolicy)
	}
	if objs[1].Line != 10 {
		t.Errorf("deployment line = %d, want 10", objs[1].Line)
	}
}

func TestDuplicateObjects(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i}]}\n"
	_, err := Parse([]File{{Path: "one.yaml", Data: []byte(pod)}, {Path: "two.yaml", Data: []byte(pod)}})
	if err == nil || !strings.Contains(err.Error(), "two.yaml:3: metadata.name") || !strings.Contains(err.Error(), "also defined at one.yaml:1") {
		t.Fatalf("want a duplicate error naming both files, got %v", err)
	}
}

func TestUnhonouredWarnings(t *testing.T) {
	pod := `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  nodeSelector: {disk: ssd}
  containers:
  - name: c
    image: i
    resources: {limits: {cpu: "1"}}
`
	objs, err := Parse([]File{{Path: "p.yaml", Data: []byte(pod)}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range Unhonoured(objs[0], "process", []string{"nodeSelector", "containers[].resources"}) {
		got = append(got, w.String())
	}
	want := []string{
		"p.yaml:5: spec.nodeSelector: accepted but not honoured by the process backend",
		"p.yaml:9: spec.containers[0].resources: accepted but not honoured by the process backend",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestExpand(t *testing.T) {
	vals := map[string]string{"A": "x", "B": "$(A)"}
	for in, want := range map[string]string{
		"$(A)":         "x",
		"$(A)-$(A)":    "x-x",
		"$$(A)":        "$(A)",
		"$(MISSING)":   "$(MISSING)",
		"$(A":          "$(A",
		"$A":           "$A",
		"a$":           "a$",
		"$(B)":         "$(A)", // no recursive expansion
		"$$$(A)":       "$x",
		"plain":        "plain",
		"$()":          "$()",
		"mid $(A) end": "mid x end",
	} {
		if got := Expand(in, vals); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	c := &Container{Env: []EnvVar{
		{Name: "HOST", Value: "$(POD_IP):8080"},
		{Name: "URL", Value: "http://$(HOST)/$(LATER)"},
		{Name: "LATER", Value: "x"},
		{Name: "NS", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "TIER", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{FieldPath: "metadata.labels['tier']"}}},
	}}
	order, vals, err := ContainerEnv(c, PodFields{Name: "p", Namespace: "ns", PodIP: "127.1.2.3", Labels: map[string]string{"tier": "web"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"POD_NAME", "POD_NAMESPACE", "POD_IP", "HOST", "URL", "LATER", "NS", "TIER"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	want := map[string]string{"POD_NAME": "p", "POD_NAMESPACE": "ns", "POD_IP": "127.1.2.3", "HOST": "127.1.2.3:8080",
		"URL": "http://127.1.2.3:8080/$(LATER)", "LATER": "x", "NS": "ns", "TIER": "web"}
	if diff := cmp.Diff(want, vals); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestSelector(t *testing.T) {
	sel, err := ParseSelector("app=web,tier!=db,env,!legacy")
	if err != nil {
		t.Fatal(err)
	}
	for labels, want := range map[string]bool{
		"app=web,env=prod":          true,
		"app=web,env=prod,tier=db":  false,
		"app=web":                   false,
		"app=web,env=x,legacy=true": false,
		"app=api,env=prod":          false,
		"app=web,env=prod,tier=fe":  true,
	} {
		m := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		if got, _ := sel.Matches(m); got != want {
			t.Errorf("%q matches %s = %v, want %v", "app=web,tier!=db,env,!legacy", labels, got, want)
		}
	}
}
