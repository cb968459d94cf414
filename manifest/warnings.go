package manifest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Warning is a valid Kubernetes field that the chosen backend will not honour.
type Warning struct {
	File    string
	Line    int
	Path    string
	Backend string
}

func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: %s: accepted but not honoured by the %s backend", w.File, w.Line, w.Path, w.Backend)
}

var index = regexp.MustCompile(`\[\d+\]`)

// PodSpec returns the object's pod spec (its template's, for a controller).
func (o *Object) PodSpec() *PodSpec {
	switch v := o.Obj.(type) {
	case *Deployment:
		return &v.Spec.Template.Spec
	case *ReplicaSet:
		return &v.Spec.Template.Spec
	case *Pod:
		return &v.Spec
	case *DaemonSet:
		return &v.Spec.Template.Spec
	case *StatefulSet:
		return &v.Spec.Template.Spec
	}
	return nil
}

// podSpecPath is where the pod spec sits in an object.
func podSpecPath(o *Object) string {
	if _, ok := o.Obj.(*Pod); ok {
		return "spec."
	}
	return "spec.template.spec."
}

// Unhonoured returns one warning for each field written in the object that matches a
// pattern of fields (relative to the pod spec, list indices as []) the backend ignores,
// and for each Service field that no backend honours.
func Unhonoured(o *Object, backend string, patterns []string) []Warning {
	prefix := podSpecPath(o)
	if _, ok := o.Obj.(*Service); ok {
		prefix, patterns = "spec.", unhonouredServiceFields
	}
	var out []Warning
	for path, line := range o.lines {
		rel, ok := strings.CutPrefix(path, prefix)
		if !ok {
			continue
		}
		norm := index.ReplaceAllString(rel, "[]")
		for _, p := range patterns {
			if norm == p {
				out = append(out, Warning{File: o.File, Line: line, Path: path, Backend: backend})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Line < out[j].Line || out[i].Line == out[j].Line && out[i].Path < out[j].Path
	})
	return out
}

// unhonouredServiceFields are the Service fields kgit accepts and does not honour: it
// has one node, no cluster DNS and no load balancer.
var unhonouredServiceFields = []string{"sessionAffinity", "sessionAffinityConfig", "externalTrafficPolicy",
	"internalTrafficPolicy", "externalIPs", "loadBalancerIP", "loadBalancerSourceRanges", "loadBalancerClass",
	"allocateLoadBalancerNodePorts", "healthCheckNodePort", "ipFamilies", "ipFamilyPolicy", "trafficDistribution",
	"clusterIPs", "ports[].appProtocol", "clusterIP"}
