package manifest

import (
	"encoding/json"
	"fmt"
	"strings"
)

func init() {
	register(&Kind{Kind: "HorizontalPodAutoscaler", Group: "autoscaling", Versions: []string{"v2", "v1"}, Plural: "horizontalpodautoscalers",
		ShortNames: []string{"hpa"}, Namespaced: true,
		New: func() Resource { return new(HorizontalPodAutoscaler) },
		defaults: func(r Resource) {
			if s := &r.(*HorizontalPodAutoscaler).Spec; s.MinReplicas == nil {
				s.MinReplicas = ptr[int32](1)
			}
		},
		validate:   func(v *validator, r Resource) { v.hpaSpec(&r.(*HorizontalPodAutoscaler).Spec) },
		references: hpaReferences,
		warn:       hpaWarning,
		unhonoured: []string{"spec.behavior"},
	})
}

// HorizontalPodAutoscaler is autoscaling/v2 HorizontalPodAutoscaler (v1's
// targetCPUUtilizationPercentage is accepted too). On a local backend kgit scales the
// target on its pods' CPU utilization at each sync (see controller.State.Autoscaled),
// whatever git's replicas says.
type HorizontalPodAutoscaler struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       HorizontalPodAutoscalerSpec `json:"spec"`
}

// HorizontalPodAutoscalerSpec is autoscaling/v2 HorizontalPodAutoscalerSpec.
type HorizontalPodAutoscalerSpec struct {
	ScaleTargetRef                 CrossVersionObjectReference `json:"scaleTargetRef"`
	MinReplicas                    *int32                      `json:"minReplicas,omitempty"`
	MaxReplicas                    int32                       `json:"maxReplicas"`
	Metrics                        json.RawMessage             `json:"metrics,omitempty"`
	Behavior                       json.RawMessage             `json:"behavior,omitempty"`
	TargetCPUUtilizationPercentage *int32                      `json:"targetCPUUtilizationPercentage,omitempty"`
}

// CrossVersionObjectReference names the object an autoscaler scales.
type CrossVersionObjectReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

func (v *validator) hpaSpec(s *HorizontalPodAutoscalerSpec) {
	ref := s.ScaleTargetRef
	switch {
	case ref.Kind == "":
		v.add("spec.scaleTargetRef.kind", nil, "Required value")
	case ref.Kind != "Deployment" && ref.Kind != "StatefulSet":
		v.add("spec.scaleTargetRef.kind", ref.Kind, "Unsupported value: kgit scales \"Deployment\" and \"StatefulSet\"")
	}
	if ref.Name == "" {
		v.add("spec.scaleTargetRef.name", nil, "Required value")
	}
	if s.MinReplicas != nil && *s.MinReplicas < 1 {
		v.add("spec.minReplicas", *s.MinReplicas, "must be greater than or equal to 1")
	}
	switch {
	case s.MaxReplicas < 1:
		v.add("spec.maxReplicas", s.MaxReplicas, "must be greater than or equal to 1")
	case s.MinReplicas != nil && *s.MinReplicas > s.MaxReplicas:
		v.add("spec.maxReplicas", s.MaxReplicas, "must be greater than or equal to `minReplicas` (%d)", *s.MinReplicas)
	}
}

// hpaReferences checks that the autoscaler's target is in git, in its namespace.
func hpaReferences(v *validator, r Resource, objs map[Key]*Object) {
	h := r.(*HorizontalPodAutoscaler)
	ref := h.Spec.ScaleTargetRef
	if objs[Key{Kind: ref.Kind, Namespace: h.Namespace, Name: ref.Name}] == nil {
		v.add("spec.scaleTargetRef.name", ref.Name, "Not found: %s %q is not in the manifests (namespace %s)", ref.Kind, ref.Name, h.Namespace)
	}
}

// hpaWarning says what the autoscaler does not honour: metrics other than CPU
// utilization are not measured, and without a CPU target the target is held at
// minReplicas.
func hpaWarning(o *Object, backend string) []Warning {
	h := o.Obj.(*HorizontalPodAutoscaler)
	_, ok, others := h.CPUTarget()
	var out []Warning
	if len(others) > 0 {
		out = append(out, Warning{File: o.File, Line: o.Line, Path: "spec.metrics", Backend: backend,
			Msg: fmt.Sprintf("HorizontalPodAutoscaler %s: the %s backend scales on CPU utilization only; %s not measured", h.Name, backend, strings.Join(others, ", "))})
	}
	if !ok {
		out = append(out, Warning{File: o.File, Line: o.Line, Path: "spec", Backend: backend,
			Msg: fmt.Sprintf("HorizontalPodAutoscaler %s: no CPU utilization target: %s/%s runs minReplicas (%d) pods, not git's replicas",
				h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name, *h.Spec.MinReplicas)})
	}
	return out
}

// hpaMetric is one autoscaling/v2 MetricSpec, as far as kgit reads it.
type hpaMetric struct {
	Type     string `json:"type"`
	Resource *struct {
		Name   string `json:"name"`
		Target struct {
			Type               string `json:"type"`
			AverageUtilization *int32 `json:"averageUtilization"`
		} `json:"target"`
	} `json:"resource"`
}

// CPUTarget returns the autoscaler's target CPU utilization (percent of the pods'
// requests): its Resource cpu Utilization metric, v1's targetCPUUtilizationPercentage,
// or Kubernetes' default of 80% when it names no metric. ok is false when it has
// metrics but none of CPU utilization; others names the metrics kgit does not measure.
func (h *HorizontalPodAutoscaler) CPUTarget() (percent int32, ok bool, others []string) {
	if h.Spec.TargetCPUUtilizationPercentage != nil {
		return *h.Spec.TargetCPUUtilizationPercentage, true, nil
	}
	var metrics []hpaMetric
	_ = json.Unmarshal(h.Spec.Metrics, &metrics)
	if len(metrics) == 0 {
		return 80, true, nil
	}
	for _, m := range metrics {
		if r := m.Resource; m.Type == "Resource" && r != nil && r.Name == "cpu" && r.Target.Type == "Utilization" && r.Target.AverageUtilization != nil && !ok {
			percent, ok = *r.Target.AverageUtilization, true
			continue
		}
		name := m.Type
		if m.Resource != nil {
			name += " " + m.Resource.Name + " " + m.Resource.Target.Type
		}
		others = append(others, name)
	}
	return percent, ok, others
}
