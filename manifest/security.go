package manifest

import "encoding/json"

// SecurityContext is what kgit reads of a container's securityContext, merged with its
// pod's as the kubelet merges them (the container's value wins).
type SecurityContext struct {
	RunAsUser, RunAsGroup  *int64
	RunAsNonRoot           bool
	ReadOnlyRootFilesystem bool
	NoNewPrivileges        bool // allowPrivilegeEscalation: false
	Drop                   []string
	FSGroup                *int64
	SupplementalGroups     []int64
}

type containerSecurity struct {
	RunAsUser                *int64 `json:"runAsUser"`
	RunAsGroup               *int64 `json:"runAsGroup"`
	RunAsNonRoot             *bool  `json:"runAsNonRoot"`
	ReadOnlyRootFilesystem   *bool  `json:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool  `json:"allowPrivilegeEscalation"`
	Capabilities             *struct {
		Drop []string `json:"drop"`
	} `json:"capabilities"`
	FSGroup            *int64  `json:"fsGroup"`
	SupplementalGroups []int64 `json:"supplementalGroups"`
}

// SecurityOf reads a container's security context merged with its pod's.
func SecurityOf(pod *PodSpec, c *Container) SecurityContext {
	var ps, cs containerSecurity
	_ = json.Unmarshal(pod.SecurityContext, &ps)
	_ = json.Unmarshal(c.SecurityContext, &cs)
	s := SecurityContext{RunAsUser: ps.RunAsUser, RunAsGroup: ps.RunAsGroup, FSGroup: ps.FSGroup, SupplementalGroups: ps.SupplementalGroups}
	if ps.RunAsNonRoot != nil {
		s.RunAsNonRoot = *ps.RunAsNonRoot
	}
	if cs.RunAsUser != nil {
		s.RunAsUser = cs.RunAsUser
	}
	if cs.RunAsGroup != nil {
		s.RunAsGroup = cs.RunAsGroup
	}
	if cs.RunAsNonRoot != nil {
		s.RunAsNonRoot = *cs.RunAsNonRoot
	}
	if cs.ReadOnlyRootFilesystem != nil {
		s.ReadOnlyRootFilesystem = *cs.ReadOnlyRootFilesystem
	}
	if cs.AllowPrivilegeEscalation != nil {
		s.NoNewPrivileges = !*cs.AllowPrivilegeEscalation
	}
	if cs.Capabilities != nil {
		s.Drop = cs.Capabilities.Drop
	}
	return s
}
