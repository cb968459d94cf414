package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestDockerDevLoop: logs --timestamps and --since-time, and top pod (the engine's
// stats), on the engine, with kubectl's output.
func TestDockerDevLoop(t *testing.T) {
	e, write := dockerWorkloads(t, "devloop")
	write("web.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: __IMAGE__
        args: [sleep]
`)
	if code, errs := e.kgit("sync", "--timeout", "120s"); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errs)
	}
	stamped := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z hello from web-`)
	if out := getOut(t, "devloop", "logs", "deploy/web", "--timestamps"); !stamped.MatchString(out) {
		t.Errorf("logs --timestamps: %q", out)
	}
	if out := getOut(t, "devloop", "logs", "deploy/web", "--since", "1h"); !strings.HasPrefix(out, "hello from web-") {
		t.Errorf("logs --since 1h: %q", out)
	}
	if out := getOut(t, "devloop", "logs", "deploy/web", "--since-time", "2999-01-01T00:00:00Z"); out != "" {
		t.Errorf("logs --since-time in the future: %q", out)
	}
	row := regexp.MustCompile(`(?m)^NAME +CPU\(cores\) +MEMORY\(bytes\) *\nweb-[a-z0-9]+-[a-z0-9]+ +\d+m +[1-9]\d*Mi *$`)
	if out := getOut(t, "devloop", "top", "pods"); !row.MatchString(out) {
		t.Errorf("top pods: %q", out)
	}
	if out := getOut(t, "devloop", "top", "pods", "--containers"); !regexp.MustCompile(`(?m)^web-\S+ +main +\d+m +\d+Mi *$`).MatchString(out) {
		t.Errorf("top pods --containers: %q", out)
	}
}
