package manifest

func init() {
	register(&Kind{Kind: "ReplicaSet", Group: "apps", Versions: []string{"v1"}, Plural: "replicasets", ShortNames: []string{"rs"}, Namespaced: true,
		New: func() Resource { return new(ReplicaSet) },
		defaults: func(r Resource) {
			s := &r.(*ReplicaSet).Spec
			if s.Replicas == nil {
				s.Replicas = ptr[int32](1)
			}
			DefaultPodSpec(&s.Template.Spec)
		},
		validate: func(v *validator, r Resource) {
			s := &r.(*ReplicaSet).Spec
			v.replicas(s.Replicas, "spec.replicas")
			v.nonNegative(int64(s.MinReadySeconds), "spec.minReadySeconds")
			v.selectorAndTemplate(s.Selector, &s.Template, "spec")
		},
		pod: func(r Resource) (*ObjectMeta, *PodSpec, string) { return templatePod(&r.(*ReplicaSet).Spec.Template) },
	})
}

// ReplicaSet is apps/v1 ReplicaSet.
type ReplicaSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ReplicaSetSpec `json:"spec"`
}

// ReplicaSetSpec is apps/v1 ReplicaSetSpec.
type ReplicaSetSpec struct {
	Replicas        *int32          `json:"replicas,omitempty"`
	MinReadySeconds int32           `json:"minReadySeconds,omitempty"`
	Selector        *LabelSelector  `json:"selector,omitempty"`
	Template        PodTemplateSpec `json:"template"`
}
