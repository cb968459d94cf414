package manifest

func init() {
	register(&Kind{Kind: "Pod", Versions: []string{"v1"}, Plural: "pods", ShortNames: []string{"po"}, Namespaced: true,
		New:      func() Resource { return new(Pod) },
		defaults: func(r Resource) { DefaultPodSpec(&r.(*Pod).Spec) },
		validate: func(v *validator, r Resource) { v.podSpec(&r.(*Pod).Spec, "spec", false) },
		pod: func(r Resource) (*ObjectMeta, *PodSpec, string) {
			p := r.(*Pod)
			return &p.ObjectMeta, &p.Spec, "spec."
		},
	})
}

// Pod is v1 Pod.
type Pod struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       PodSpec `json:"spec"`
}

// templatePod is a controller's pod metadata and spec, from its template.
func templatePod(t *PodTemplateSpec) (*ObjectMeta, *PodSpec, string) {
	return &t.ObjectMeta, &t.Spec, "spec.template.spec."
}
