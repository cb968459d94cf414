package backendtest

import (
	"io"
	"strings"
	"testing"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker"
)

// TestUnhonouredProblems: the suite's check of Unhonoured takes fields of the pod spec,
// inside the fields kgit keeps as raw JSON too (their warnings must fire there), and
// finds each kind of wrong entry.
func TestUnhonouredProblems(t *testing.T) {
	good := []string{"nodeSelector", "affinity", "securityContext", "securityContext.sysctls",
		"containers[].securityContext.seccompProfile", "initContainers[].resources.limits.ephemeral-storage",
		"containers[].resources.claims", "containers[].ports[].hostPort", "volumes[].projected",
		"volumes[].hostPath.type", "containers[].lifecycle.preStop.tcpSocket", "containers[].volumeMounts[].subPathExpr"}
	if p := unhonouredProblems("test", backend.Capabilities{Isolated: true, Unhonoured: good}); len(p) != 0 {
		t.Errorf("a good list has problems:\n%s", strings.Join(p, "\n"))
	}
	for _, tc := range []struct {
		isolated bool
		list     []string
		want     string
	}{
		{false, []string{"containers[].nosuch"}, `containers[] has no field "nosuch"`},
		{false, []string{"nodeselector"}, `the pod spec has no field "nodeselector"`},
		{false, []string{"containers.name"}, `containers is a slice, it has no field "name"`},
		{false, []string{"restartPolicy[]"}, `restartPolicy is not a list`},
		{false, []string{"nodeName", "nodeName"}, `"nodeName" twice`},
		{false, []string{"containers[].command"}, `which holds "containers[].command"`},
		{false, []string{"containers[].readinessProbe"}, `which holds "containers[].readinessProbe.httpGet"`},
		{false, []string{"containers"}, `which holds "containers[].name"`},
		{true, []string{"hostNetwork"}, `which holds "hostNetwork"`},
		{true, []string{"volumes[].hostPath"}, `which holds "volumes[].hostPath"`},
		{true, []string{"containers[].securityContext"}, `which holds "containers[].securityContext.privileged"`},
	} {
		p := unhonouredProblems("test", backend.Capabilities{Isolated: tc.isolated, Unhonoured: tc.list})
		if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), tc.want) {
			t.Errorf("Unhonoured %v (isolated %v): problems %q, want one saying %q", tc.list, tc.isolated, p, tc.want)
		}
	}
	// host access is honoured only where it is refused: a host process ignores hostNetwork
	if p := unhonouredProblems("test", backend.Capabilities{Unhonoured: []string{"hostNetwork", "containers[].securityContext"}}); len(p) != 0 {
		t.Errorf("a backend that does not isolate pods may ignore host access: %q", p)
	}
}

// TestDockerUnhonoured checks the docker backend's list without an engine (its
// conformance run needs one).
func TestDockerUnhonoured(t *testing.T) {
	b, err := docker.New(io.Discard)
	if err != nil {
		t.Skip(err)
	}
	for _, p := range unhonouredProblems(b.Name(), b.Capabilities()) {
		t.Error(p)
	}
}
