package kubeprint

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// objects as a cluster's API returns them, not built by kgit: the printers need
// nothing else.
const clusterObjects = `[
{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
 "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": [{"name": "main", "image": "web:1"}]}}},
 "status": {"replicas": 3, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}},
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "creationTimestamp": "2026-01-01T00:00:00Z"},
 "spec": {"nodeName": "node-a", "containers": [{"name": "main", "image": "web:1"}, {"name": "side", "image": "side:1"}]},
 "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [
   {"name": "main", "ready": true, "restartCount": 2, "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T00:59:00Z"}}},
   {"name": "side", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}},
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "edge", "creationTimestamp": "2026-01-01T00:00:00Z"},
 "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.7", "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]},
 "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}},
{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"size": 3}}
]`

func TestTablesFromClusterObjects(t *testing.T) {
	var raw []any
	if err := json.Unmarshal([]byte(clusterObjects), &raw); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	want := map[string]string{
		"Deployment": "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES   SELECTOR   OVERRIDE\nweb    1/3     2            1           60m   main         web:1    app=web    <none>\n",
		"Pod":        "NAME    READY   STATUS             RESTARTS      AGE   IP         NODE     APP\nweb-1   1/2     CrashLoopBackOff   2 (60s ago)   60m   10.0.0.5   node-a   \n",
		"Service":    "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)        AGE   SELECTOR\nedge   LoadBalancer   10.96.0.7    203.0.113.9   80:31000/TCP   60m   <none>\n",
		"Widget":     "NAME   AGE\nw      60m\n",
	}
	for _, r := range raw {
		o, err := ObjectOf(r)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := Table(&b, o.Str("kind"), []Object{o}, true, now); err != nil {
			t.Fatal(err)
		}
		if got := b.String(); got != want[o.Str("kind")] {
			t.Errorf("%s:\n%s\nwant:\n%s", o.Str("kind"), got, want[o.Str("kind")])
		}
		b.Reset()
		Describe(&b, o.Str("kind"), o, nil, now)
		if b.Len() == 0 && o.Str("kind") != "ConfigMap" {
			t.Errorf("%s: describe printed nothing", o.Str("kind"))
		}
		if o.Str("kind") == "Widget" && !strings.Contains(b.String(), "Size:") {
			t.Errorf("a custom resource's describe lacks its fields:\n%s", b.String())
		}
	}
}

// A pod being deleted is Terminating whatever its containers say, as in kubectl.
func TestPodStatusTerminating(t *testing.T) {
	for _, tc := range []struct{ obj, want string }{
		{`{"metadata": {"name": "a"}, "status": {"phase": "Running", "containerStatuses": [{"state": {"running": {}}}]}}`, "Running"},
		{`{"metadata": {"name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running", "containerStatuses": [{"state": {"running": {}}}]}}`, "Terminating"},
		{`{"metadata": {"name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running", "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}`, "Terminating"},
		{`{"metadata": {"name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running", "reason": "NodeLost"}}`, "Unknown"},
	} {
		var raw any
		if err := json.Unmarshal([]byte(tc.obj), &raw); err != nil {
			t.Fatal(err)
		}
		o, err := ObjectOf(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := PodStatus(o); got != tc.want {
			t.Errorf("%s: STATUS %q, want %q", tc.obj, got, tc.want)
		}
	}
}
