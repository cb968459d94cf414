package manifest

func init() {
	register(&Kind{Kind: "Deployment", Group: "apps", Versions: []string{"v1"}, Plural: "deployments", ShortNames: []string{"deploy"}, Namespaced: true,
		New:      func() Resource { return new(Deployment) },
		defaults: func(r Resource) { defaultDeployment(&r.(*Deployment).Spec) },
		validate: func(v *validator, r Resource) { v.deploymentSpec(&r.(*Deployment).Spec) },
		pod:      func(r Resource) (*ObjectMeta, *PodSpec, string) { return templatePod(&r.(*Deployment).Spec.Template) },
	})
}

// Deployment is apps/v1 Deployment.
type Deployment struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       DeploymentSpec `json:"spec"`
}

// DeploymentSpec is apps/v1 DeploymentSpec.
type DeploymentSpec struct {
	Replicas                *int32             `json:"replicas,omitempty"`
	Selector                *LabelSelector     `json:"selector,omitempty"`
	Template                PodTemplateSpec    `json:"template"`
	Strategy                DeploymentStrategy `json:"strategy,omitempty"`
	MinReadySeconds         int32              `json:"minReadySeconds,omitempty"`
	RevisionHistoryLimit    *int32             `json:"revisionHistoryLimit,omitempty"`
	Paused                  bool               `json:"paused,omitempty"`
	ProgressDeadlineSeconds *int32             `json:"progressDeadlineSeconds,omitempty"`
}

// DeploymentStrategy is RollingUpdate or Recreate.
type DeploymentStrategy struct {
	Type          string                   `json:"type,omitempty"`
	RollingUpdate *RollingUpdateDeployment `json:"rollingUpdate,omitempty"`
}

// RollingUpdateDeployment holds maxSurge and maxUnavailable.
type RollingUpdateDeployment struct {
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"`
	MaxSurge       *IntOrString `json:"maxSurge,omitempty"`
}

func defaultDeployment(s *DeploymentSpec) {
	if s.Replicas == nil {
		s.Replicas = ptr[int32](1)
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = "RollingUpdate"
	}
	if s.Strategy.Type == "RollingUpdate" {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &RollingUpdateDeployment{}
		}
		if s.Strategy.RollingUpdate.MaxSurge == nil {
			s.Strategy.RollingUpdate.MaxSurge = ptr(FromString("25%"))
		}
		if s.Strategy.RollingUpdate.MaxUnavailable == nil {
			s.Strategy.RollingUpdate.MaxUnavailable = ptr(FromString("25%"))
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptr[int32](DefaultRevisionHistoryLimit)
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = ptr[int32](DefaultProgressDeadlineSeconds)
	}
	DefaultPodSpec(&s.Template.Spec)
}

func (v *validator) deploymentSpec(s *DeploymentSpec) {
	v.replicas(s.Replicas, "spec.replicas")
	v.nonNegative(int64(s.MinReadySeconds), "spec.minReadySeconds")
	if s.RevisionHistoryLimit != nil {
		v.nonNegative(int64(*s.RevisionHistoryLimit), "spec.revisionHistoryLimit")
	}
	if s.ProgressDeadlineSeconds != nil {
		v.nonNegative(int64(*s.ProgressDeadlineSeconds), "spec.progressDeadlineSeconds")
		if *s.ProgressDeadlineSeconds <= s.MinReadySeconds {
			v.add("spec.progressDeadlineSeconds", *s.ProgressDeadlineSeconds, "must be greater than minReadySeconds")
		}
	}
	v.selectorAndTemplate(s.Selector, &s.Template, "spec")
	v.strategy(&s.Strategy, "spec.strategy")
}

func (v *validator) strategy(s *DeploymentStrategy, path string) {
	switch s.Type {
	case "Recreate":
		if s.RollingUpdate != nil {
			v.add(path+".rollingUpdate", nil, "Forbidden: may not be specified when strategy `type` is 'Recreate'")
		}
	case "RollingUpdate":
		ru := s.RollingUpdate
		if ru == nil {
			return
		}
		surge := v.intOrPercent(ru.MaxSurge, path+".rollingUpdate.maxSurge")
		unavail := v.intOrPercent(ru.MaxUnavailable, path+".rollingUpdate.maxUnavailable")
		if ru.MaxUnavailable != nil && ru.MaxUnavailable.IsString && unavail > 100 {
			v.add(path+".rollingUpdate.maxUnavailable", ru.MaxUnavailable.StrVal, "must not be greater than 100%%")
		}
		if ru.MaxSurge != nil && ru.MaxUnavailable != nil && surge == 0 && unavail == 0 {
			v.add(path+".rollingUpdate.maxUnavailable", ru.MaxUnavailable.String(), "may not be 0 when `maxSurge` is 0")
		}
	default:
		v.add(path+".type", s.Type, "Unsupported value: supported values: \"Recreate\", \"RollingUpdate\"")
	}
}
