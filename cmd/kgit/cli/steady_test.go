package cli

import (
	"testing"

	"kgit.dev/kgit/manifest"
)

// TestSteadyOf checks which desired sets may leave a steady-sync verdict: kinds whose
// controllers act on state (and kinds kept as records) may; a Job, whose deadline acts
// on time, may not; nor may anything read from a decrypted file.
func TestSteadyOf(t *testing.T) {
	const deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: main, image: web:1, command: [sleep, '1']}]}\n"
	const role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader}\nrules: []\n"
	const job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: job:1, command: ['true']}]\n"
	const hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 3\n"
	parse := func(docs ...string) []*manifest.Object {
		t.Helper()
		var files []manifest.File
		for i, d := range docs {
			files = append(files, manifest.File{Path: string(rune('a'+i)) + ".yaml", Data: []byte(d)})
		}
		objs, err := manifest.Parse(files)
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	for _, c := range []struct {
		name      string
		objs      []*manifest.Object
		decrypted bool
		want      bool
	}{
		{"a Deployment and a Role kept as a record", parse(deploy, role), false, true},
		{"with a Job", parse(deploy, job), false, false},
		{"with an autoscaler (it scales on measured CPU)", parse(deploy, hpa), false, false},
		{"read from a decrypted file", parse(deploy), true, false},
		{"nothing", nil, false, true},
	} {
		if got := steadyOf(c.objs, c.decrypted); got != c.want {
			t.Errorf("%s: steadyOf = %t, want %t", c.name, got, c.want)
		}
	}
}
