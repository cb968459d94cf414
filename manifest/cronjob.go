package manifest

import (
	"time"
)

func init() {
	register(&Kind{Kind: "CronJob", Group: "batch", Versions: []string{"v1"}, Plural: "cronjobs", ShortNames: []string{"cj"}, Namespaced: true,
		New:      func() Resource { return new(CronJob) },
		defaults: func(r Resource) { defaultCronJob(&r.(*CronJob).Spec) },
		validate: func(v *validator, r Resource) { v.cronJob(r.(*CronJob)) },
		pod: func(r Resource) (*ObjectMeta, *PodSpec, string) {
			t := &r.(*CronJob).Spec.JobTemplate.Spec.Template
			return &t.ObjectMeta, &t.Spec, "spec.jobTemplate.spec.template.spec."
		},
		unhonoured: []string{"spec.jobTemplate.spec.podFailurePolicy", "spec.jobTemplate.spec.successPolicy",
			"spec.jobTemplate.spec.backoffLimitPerIndex", "spec.jobTemplate.spec.maxFailedIndexes",
			"spec.jobTemplate.spec.podReplacementPolicy", "spec.jobTemplate.spec.managedBy"},
	})
}

// CronJob concurrency policies.
const (
	AllowConcurrent   = "Allow"
	ForbidConcurrent  = "Forbid"
	ReplaceConcurrent = "Replace"
)

// CronJobScheduledAnnotation is the scheduled time of a Job a CronJob made (RFC 3339, in
// the CronJob's time zone), as the CronJob controller writes it.
const CronJobScheduledAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// CronJob is batch/v1 CronJob: Jobs made from a template on a schedule.
type CronJob struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       CronJobSpec `json:"spec"`
}

// CronJobSpec is batch/v1 CronJobSpec.
type CronJobSpec struct {
	Schedule                   string          `json:"schedule"`
	TimeZone                   *string         `json:"timeZone,omitempty"`
	StartingDeadlineSeconds    *int64          `json:"startingDeadlineSeconds,omitempty"`
	ConcurrencyPolicy          string          `json:"concurrencyPolicy,omitempty"`
	Suspend                    *bool           `json:"suspend,omitempty"`
	JobTemplate                JobTemplateSpec `json:"jobTemplate"`
	SuccessfulJobsHistoryLimit *int32          `json:"successfulJobsHistoryLimit,omitempty"`
	FailedJobsHistoryLimit     *int32          `json:"failedJobsHistoryLimit,omitempty"`
}

// JobTemplateSpec is the Job a CronJob makes: its metadata and spec.
type JobTemplateSpec struct {
	ObjectMeta `json:"metadata,omitempty"`
	Spec       JobSpec `json:"spec"`
}

// defaultCronJob is batch/v1 SetDefaults_CronJob: Allow, not suspended, 3 successful and
// 1 failed Jobs kept; the Job template is defaulted as a Job is.
func defaultCronJob(s *CronJobSpec) {
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = AllowConcurrent
	}
	if s.Suspend == nil {
		s.Suspend = ptr(false)
	}
	if s.SuccessfulJobsHistoryLimit == nil {
		s.SuccessfulJobsHistoryLimit = ptr[int32](3)
	}
	if s.FailedJobsHistoryLimit == nil {
		s.FailedJobsHistoryLimit = ptr[int32](1)
	}
	defaultJob(&s.JobTemplate.Spec)
}

// Location is the CronJob's time zone: timeZone, else the local one (the controller
// manager's, here kgit's).
func (s *CronJobSpec) Location() (*time.Location, error) {
	if s.TimeZone == nil {
		return time.Local, nil
	}
	return time.LoadLocation(*s.TimeZone)
}

// cronJobNameMax is the longest CronJob name: its Jobs append -<11 digits>, and their
// pods' job-name label must stay a label value (63 characters).
const cronJobNameMax = 52

func (v *validator) cronJob(cj *CronJob) {
	s := &cj.Spec
	if len(cj.Name) > cronJobNameMax {
		v.add("metadata.name", cj.Name, "must be no more than %d characters", cronJobNameMax)
	}
	if s.Schedule == "" {
		v.add("spec.schedule", nil, "Required value")
	} else if _, err := ParseSchedule(s.Schedule); err != nil {
		v.add("spec.schedule", s.Schedule, "%v", err)
	}
	if s.TimeZone != nil {
		if _, err := s.Location(); err != nil || *s.TimeZone == "" || *s.TimeZone == "Local" {
			v.add("spec.timeZone", *s.TimeZone, "unknown time zone %s", *s.TimeZone)
		}
	}
	switch s.ConcurrencyPolicy {
	case AllowConcurrent, ForbidConcurrent, ReplaceConcurrent:
	default:
		v.add("spec.concurrencyPolicy", s.ConcurrencyPolicy, "Unsupported value: supported values: \"Allow\", \"Forbid\", \"Replace\"")
	}
	if s.StartingDeadlineSeconds != nil {
		v.nonNegative(*s.StartingDeadlineSeconds, "spec.startingDeadlineSeconds")
	}
	if s.SuccessfulJobsHistoryLimit != nil {
		v.nonNegative(int64(*s.SuccessfulJobsHistoryLimit), "spec.successfulJobsHistoryLimit")
	}
	if s.FailedJobsHistoryLimit != nil {
		v.nonNegative(int64(*s.FailedJobsHistoryLimit), "spec.failedJobsHistoryLimit")
	}
	v.objectMeta(&s.JobTemplate.ObjectMeta, "spec.jobTemplate.metadata", false)
	v.jobSpec(&s.JobTemplate.Spec, "spec.jobTemplate.spec")
}
