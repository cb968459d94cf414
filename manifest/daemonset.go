package manifest

func init() {
	register(&Kind{Kind: "DaemonSet", Group: "apps", Versions: []string{"v1"}, Plural: "daemonsets", ShortNames: []string{"ds"}, Namespaced: true,
		New:      func() Resource { return new(DaemonSet) },
		defaults: func(r Resource) { defaultDaemonSet(&r.(*DaemonSet).Spec) },
		validate: func(v *validator, r Resource) { v.daemonSetSpec(&r.(*DaemonSet).Spec) },
		pod:      func(r Resource) (*ObjectMeta, *PodSpec, string) { return templatePod(&r.(*DaemonSet).Spec.Template) },
	})
}

// DaemonSet is apps/v1 DaemonSet: one pod per node, and kgit has one node.
type DaemonSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       DaemonSetSpec `json:"spec"`
}

// DaemonSetSpec is apps/v1 DaemonSetSpec.
type DaemonSetSpec struct {
	Selector             *LabelSelector          `json:"selector,omitempty"`
	Template             PodTemplateSpec         `json:"template"`
	UpdateStrategy       DaemonSetUpdateStrategy `json:"updateStrategy,omitempty"`
	MinReadySeconds      int32                   `json:"minReadySeconds,omitempty"`
	RevisionHistoryLimit *int32                  `json:"revisionHistoryLimit,omitempty"`
}

// DaemonSetUpdateStrategy is RollingUpdate or OnDelete.
type DaemonSetUpdateStrategy struct {
	Type          string                   `json:"type,omitempty"`
	RollingUpdate *RollingUpdateDeployment `json:"rollingUpdate,omitempty"`
}

// defaultDaemonSet: RollingUpdate with maxUnavailable 1 and maxSurge 0.
func defaultDaemonSet(s *DaemonSetSpec) {
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = "RollingUpdate"
	}
	if s.UpdateStrategy.Type == "RollingUpdate" {
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &RollingUpdateDeployment{}
		}
		if s.UpdateStrategy.RollingUpdate.MaxUnavailable == nil {
			s.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(FromInt(1))
		}
		if s.UpdateStrategy.RollingUpdate.MaxSurge == nil {
			s.UpdateStrategy.RollingUpdate.MaxSurge = ptr(FromInt(0))
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptr[int32](DefaultRevisionHistoryLimit)
	}
	DefaultPodSpec(&s.Template.Spec)
}

func (v *validator) daemonSetSpec(s *DaemonSetSpec) {
	v.nonNegative(int64(s.MinReadySeconds), "spec.minReadySeconds")
	v.selectorAndTemplate(s.Selector, &s.Template, "spec")
	switch s.UpdateStrategy.Type {
	case "OnDelete":
	case "RollingUpdate":
		v.strategy(&DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: s.UpdateStrategy.RollingUpdate}, "spec.updateStrategy")
	default:
		v.add("spec.updateStrategy.type", s.UpdateStrategy.Type, "Unsupported value: supported values: \"OnDelete\", \"RollingUpdate\"")
	}
}
