package manifest

import (
	"encoding/json"
	"fmt"
)

func init() {
	register(&Kind{Kind: "Job", Group: "batch", Versions: []string{"v1"}, Plural: "jobs", Namespaced: true,
		New:      func() Resource { return new(Job) },
		defaults: func(r Resource) { defaultJob(&r.(*Job).Spec) },
		validate: func(v *validator, r Resource) { v.jobSpec(&r.(*Job).Spec, "spec") },
		pod:      func(r Resource) (*ObjectMeta, *PodSpec, string) { return templatePod(&r.(*Job).Spec.Template) },
		warn:     jobWarning,
		unhonoured: []string{"spec.podFailurePolicy", "spec.successPolicy", "spec.backoffLimitPerIndex",
			"spec.maxFailedIndexes", "spec.podReplacementPolicy", "spec.managedBy"},
	})
}

// jobWarning says that an Indexed Job runs as a NonIndexed one.
func jobWarning(o *Object, backend string) []Warning {
	if m := o.Obj.(*Job).Spec.CompletionMode; m != nil && *m == "Indexed" && o.LineOf("spec.completionMode") > 0 {
		return []Warning{{File: o.File, Line: o.LineOf("spec.completionMode"), Path: "spec.completionMode", Backend: backend,
			Msg: fmt.Sprintf("Indexed: run as NonIndexed by the %s backend (no completion index)", backend)}}
	}
	return nil
}

// Labels Kubernetes puts on a Job's pods.
const (
	JobNameLabel          = "batch.kubernetes.io/job-name"
	JobControllerUIDLabel = "batch.kubernetes.io/controller-uid"
	LegacyJobNameLabel    = "job-name"
	LegacyControllerUID   = "controller-uid"
)

// DefaultBackoffLimit is a Job's spec.backoffLimit when unset.
const DefaultBackoffLimit = 6

// Job is batch/v1 Job: pods run to completion.
type Job struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       JobSpec `json:"spec"`
}

// JobSpec is batch/v1 JobSpec.
type JobSpec struct {
	Parallelism             *int32          `json:"parallelism,omitempty"`
	Completions             *int32          `json:"completions,omitempty"`
	ActiveDeadlineSeconds   *int64          `json:"activeDeadlineSeconds,omitempty"`
	BackoffLimit            *int32          `json:"backoffLimit,omitempty"`
	Selector                *LabelSelector  `json:"selector,omitempty"`
	ManualSelector          *bool           `json:"manualSelector,omitempty"`
	Template                PodTemplateSpec `json:"template"`
	TTLSecondsAfterFinished *int32          `json:"ttlSecondsAfterFinished,omitempty"`
	CompletionMode          *string         `json:"completionMode,omitempty"`
	Suspend                 *bool           `json:"suspend,omitempty"`
	PodFailurePolicy        json.RawMessage `json:"podFailurePolicy,omitempty"`
	SuccessPolicy           json.RawMessage `json:"successPolicy,omitempty"`
	BackoffLimitPerIndex    *int32          `json:"backoffLimitPerIndex,omitempty"`
	MaxFailedIndexes        *int32          `json:"maxFailedIndexes,omitempty"`
	PodReplacementPolicy    *string         `json:"podReplacementPolicy,omitempty"`
	ManagedBy               *string         `json:"managedBy,omitempty"`
}

// defaultJob is batch/v1 SetDefaults_Job: completions and parallelism 1 when neither is
// set (parallelism 1 when only completions is), backoffLimit 6, NonIndexed, not suspended.
func defaultJob(s *JobSpec) {
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptr[int32](1)
	}
	if s.Parallelism == nil {
		s.Parallelism = ptr[int32](1)
	}
	if s.BackoffLimit == nil {
		s.BackoffLimit = ptr[int32](DefaultBackoffLimit)
	}
	if s.CompletionMode == nil {
		s.CompletionMode = ptr("NonIndexed")
	}
	if s.Suspend == nil {
		s.Suspend = ptr(false)
	}
	DefaultPodSpec(&s.Template.Spec)
}

// jobSpec validates a JobSpec at path (spec, or a CronJob's spec.jobTemplate.spec).
func (v *validator) jobSpec(s *JobSpec, path string) {
	if s.Parallelism != nil {
		v.nonNegative(int64(*s.Parallelism), path+".parallelism")
	}
	if s.Completions != nil {
		v.nonNegative(int64(*s.Completions), path+".completions")
	}
	if s.BackoffLimit != nil {
		v.nonNegative(int64(*s.BackoffLimit), path+".backoffLimit")
	}
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds <= 0 {
		v.add(path+".activeDeadlineSeconds", *s.ActiveDeadlineSeconds, "must be greater than 0")
	}
	if s.TTLSecondsAfterFinished != nil {
		v.nonNegative(int64(*s.TTLSecondsAfterFinished), path+".ttlSecondsAfterFinished")
	}
	if m := s.CompletionMode; m != nil && *m != "NonIndexed" && *m != "Indexed" {
		v.add(path+".completionMode", *m, "Unsupported value: supported values: \"NonIndexed\", \"Indexed\"")
	} else if m != nil && *m == "Indexed" && s.Completions == nil {
		v.add(path+".completions", nil, "Required value: when completion mode is Indexed")
	}
	switch manual := s.ManualSelector != nil && *s.ManualSelector; {
	case manual && s.Selector == nil:
		v.add(path+".selector", nil, "Required value: with manualSelector")
	case manual:
		v.selector(s.Selector, path+".selector")
		if ok, err := s.Selector.Matches(s.Template.Labels); err == nil && !ok {
			v.add(path+".template.metadata.labels", labelString(s.Template.Labels), "`selector` does not match template `labels`")
		}
	case s.Selector != nil:
		v.add(path+".selector", nil, "Invalid value: `selector` will be auto-generated (set manualSelector: true to write it)")
	}
	v.objectMeta(&s.Template.ObjectMeta, path+".template.metadata", false)
	v.podSpec(&s.Template.Spec, path+".template.spec", false)
	if p := s.Template.Spec.RestartPolicy; p != "OnFailure" && p != "Never" {
		v.add(path+".template.spec.restartPolicy", p, "Unsupported value: supported values: \"OnFailure\", \"Never\"")
	}
}
