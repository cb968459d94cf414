package kubernetes

import (
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// owned keeps exactly the fields kgit's manager owns, lists by key, with live values.
func TestOwnedExtractsManagedFields(t *testing.T) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(`{"apiVersion":"apps/v1","kind":"Deployment",
	  "metadata":{"name":"web","namespace":"ns","generation":3,"labels":{"app":"web","other":"x"}},
	  "spec":{"replicas":4,"revisionHistoryLimit":10,"selector":{"matchLabels":{"app":"web"}},
	    "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[
	      {"name":"a","image":"nginx:1","imagePullPolicy":"IfNotPresent","ports":[{"containerPort":80,"protocol":"TCP"}]},
	      {"name":"b","image":"sidecar"}]}}},
	  "status":{"replicas":4}}`), &obj); err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	fields := `{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},
	  "f:spec":{"f:containers":{"k:{\"name\":\"a\"}":{".":{},"f:name":{},"f:image":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}`
	u.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: "kubectl", Operation: "Update", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)}},
		{Manager: FieldManager, Operation: "Apply", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}},
	})
	got, ok := owned(u)
	if !ok {
		t.Fatal("no kgit entry")
	}
	b, _ := json.Marshal(got)
	want := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"}},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx:1","name":"a","ports":[{"containerPort":80}]}]}}}}`
	if string(b) != want {
		t.Errorf("owned:\n got %s\nwant %s", b, want)
	}
}
