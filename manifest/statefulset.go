package manifest

import (
	"encoding/json"
	"fmt"
)

func init() {
	register(&Kind{Kind: "StatefulSet", Group: "apps", Versions: []string{"v1"}, Plural: "statefulsets", ShortNames: []string{"sts"}, Namespaced: true,
		New:      func() Resource { return new(StatefulSet) },
		defaults: func(r Resource) { defaultStatefulSet(&r.(*StatefulSet).Spec) },
		validate: func(v *validator, r Resource) { v.statefulSet(&r.(*StatefulSet).Spec) },
		pod:      func(r Resource) (*ObjectMeta, *PodSpec, string) { return templatePod(&r.(*StatefulSet).Spec.Template) },
	})
}

// StatefulSet is apps/v1 StatefulSet: pods with stable names NAME-0..NAME-(n-1), each
// with its own persistent volumes from volumeClaimTemplates.
type StatefulSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       StatefulSetSpec `json:"spec"`
}

// StatefulSetSpec is apps/v1 StatefulSetSpec.
type StatefulSetSpec struct {
	Replicas                             *int32                    `json:"replicas,omitempty"`
	Selector                             *LabelSelector            `json:"selector,omitempty"`
	Template                             PodTemplateSpec           `json:"template"`
	VolumeClaimTemplates                 []VolumeClaimTemplate     `json:"volumeClaimTemplates,omitempty"`
	ServiceName                          string                    `json:"serviceName,omitempty"`
	PodManagementPolicy                  string                    `json:"podManagementPolicy,omitempty"`
	UpdateStrategy                       StatefulSetUpdateStrategy `json:"updateStrategy,omitempty"`
	RevisionHistoryLimit                 *int32                    `json:"revisionHistoryLimit,omitempty"`
	MinReadySeconds                      int32                     `json:"minReadySeconds,omitempty"`
	PersistentVolumeClaimRetentionPolicy json.RawMessage           `json:"persistentVolumeClaimRetentionPolicy,omitempty"`
	Ordinals                             json.RawMessage           `json:"ordinals,omitempty"`
}

// StatefulSetUpdateStrategy is RollingUpdate (with a partition) or OnDelete.
type StatefulSetUpdateStrategy struct {
	Type          string                            `json:"type,omitempty"`
	RollingUpdate *RollingUpdateStatefulSetStrategy `json:"rollingUpdate,omitempty"`
}

// RollingUpdateStatefulSetStrategy holds the partition: pods with a lower ordinal keep
// the old revision.
type RollingUpdateStatefulSetStrategy struct {
	Partition      *int32       `json:"partition,omitempty"`
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"`
}

// VolumeClaimTemplate is a volume claim template: its name is the volume's name in
// the pod; kgit gives each pod a named volume CLAIM-STATEFULSET-ORDINAL. The spec
// (size, access modes, storage class) is accepted and not enforced.
type VolumeClaimTemplate struct {
	ObjectMeta `json:"metadata"`
	Spec       json.RawMessage `json:"spec,omitempty"`
}

// Pod management policies and update strategies of a StatefulSet.
const (
	OrderedReady = "OrderedReady"
	Parallel     = "Parallel"
	OnDelete     = "OnDelete"
)

// ClaimName is the claim of a StatefulSet pod's volume, as Kubernetes names it.
func ClaimName(template, set string, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", template, set, ordinal)
}

func defaultStatefulSet(s *StatefulSetSpec) {
	if s.Replicas == nil {
		s.Replicas = ptr[int32](1)
	}
	if s.PodManagementPolicy == "" {
		s.PodManagementPolicy = OrderedReady
	}
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = "RollingUpdate"
	}
	if s.UpdateStrategy.Type == "RollingUpdate" {
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &RollingUpdateStatefulSetStrategy{}
		}
		if s.UpdateStrategy.RollingUpdate.Partition == nil {
			s.UpdateStrategy.RollingUpdate.Partition = ptr[int32](0)
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptr[int32](DefaultRevisionHistoryLimit)
	}
	DefaultPodSpec(&s.Template.Spec)
}

func (v *validator) statefulSet(s *StatefulSetSpec) {
	v.replicas(s.Replicas, "spec.replicas")
	v.nonNegative(int64(s.MinReadySeconds), "spec.minReadySeconds")
	v.selectorAndTemplate(s.Selector, &s.Template, "spec")
	switch s.PodManagementPolicy {
	case OrderedReady, Parallel:
	default:
		v.add("spec.podManagementPolicy", s.PodManagementPolicy, "Unsupported value: supported values: \"OrderedReady\", \"Parallel\"")
	}
	switch s.UpdateStrategy.Type {
	case OnDelete:
		if s.UpdateStrategy.RollingUpdate != nil {
			v.add("spec.updateStrategy.rollingUpdate", nil, "Forbidden: only allowed for updateStrategy 'RollingUpdate'")
		}
	case "RollingUpdate":
		if p := s.UpdateStrategy.RollingUpdate.Partition; p != nil {
			v.nonNegative(int64(*p), "spec.updateStrategy.rollingUpdate.partition")
		}
	default:
		v.add("spec.updateStrategy.type", s.UpdateStrategy.Type, "Unsupported value: supported values: \"OnDelete\", \"RollingUpdate\"")
	}
	seen := map[string]bool{}
	for i, c := range s.VolumeClaimTemplates {
		at := fmt.Sprintf("spec.volumeClaimTemplates[%d].metadata.name", i)
		switch {
		case c.Name == "":
			v.add(at, nil, "Required value")
		case seen[c.Name]:
			v.add(at, c.Name, "Duplicate value")
		default:
			v.dnsLabel(c.Name, at)
			if s.Template.Spec.FindVolume(c.Name) != nil {
				v.add(at, c.Name, "Duplicate value: the pod template has a volume of that name")
			}
		}
		seen[c.Name] = true
	}
}
