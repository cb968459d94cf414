package manifest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

func init() {
	register(&Kind{Kind: "PersistentVolumeClaim", Versions: []string{"v1"}, Plural: "persistentvolumeclaims", ShortNames: []string{"pvc"}, Namespaced: true,
		New:      func() Resource { return new(PersistentVolumeClaim) },
		defaults: func(r Resource) { defaultClaim(&r.(*PersistentVolumeClaim).Spec) },
		validate: func(v *validator, r Resource) { v.claim(&r.(*PersistentVolumeClaim).Spec) },
		unhonoured: []string{"spec.selector", "spec.volumeName", "spec.dataSource", "spec.dataSourceRef",
			"spec.volumeAttributesClassName"},
	})
}

// PersistentVolumeClaim is v1 PersistentVolumeClaim: storage that pods mount by
// persistentVolumeClaim.claimName. A local backend binds it at once to a folder (process)
// or a named volume (docker) that outlives the pods and goes when the claim is pruned;
// its size and access modes are recorded, not enforced.
type PersistentVolumeClaim struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       PersistentVolumeClaimSpec `json:"spec"`
}

// PersistentVolumeClaimSpec is v1 PersistentVolumeClaimSpec.
type PersistentVolumeClaimSpec struct {
	AccessModes               []string                   `json:"accessModes,omitempty"`
	Selector                  *LabelSelector             `json:"selector,omitempty"`
	Resources                 VolumeResourceRequirements `json:"resources,omitempty"`
	VolumeName                string                     `json:"volumeName,omitempty"`
	StorageClassName          *string                    `json:"storageClassName,omitempty"`
	VolumeMode                *string                    `json:"volumeMode,omitempty"`
	DataSource                json.RawMessage            `json:"dataSource,omitempty"`
	DataSourceRef             json.RawMessage            `json:"dataSourceRef,omitempty"`
	VolumeAttributesClassName *string                    `json:"volumeAttributesClassName,omitempty"`
}

// VolumeResourceRequirements is a claim's size: requests (and limits) of storage.
type VolumeResourceRequirements struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// defaultClaim is v1 SetDefaults_PersistentVolumeClaimSpec: a Filesystem volume.
func defaultClaim(s *PersistentVolumeClaimSpec) {
	if s.VolumeMode == nil {
		s.VolumeMode = ptr("Filesystem")
	}
}

// quantity is the form of a resource quantity, as the API server's message gives it.
var quantity = regexp.MustCompile(`^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`)

var accessModes = map[string]string{"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}

// AccessModesString is kubectl's ACCESS MODES of a claim: RWO,ROX,RWX,RWOP.
func AccessModesString(modes []string) string {
	var out []string
	for _, m := range modes {
		if short, ok := accessModes[m]; ok {
			out = append(out, short)
		}
	}
	return strings.Join(out, ",")
}

func (v *validator) claim(s *PersistentVolumeClaimSpec) {
	if len(s.AccessModes) == 0 {
		v.add("spec.accessModes", nil, "Required value: at least 1 access mode is required")
	}
	for i, m := range s.AccessModes {
		if _, ok := accessModes[m]; !ok {
			v.add(fmt.Sprintf("spec.accessModes[%d]", i), m, "Unsupported value: supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"")
		}
	}
	if q, ok := s.Resources.Requests["storage"]; !ok {
		v.add("spec.resources.requests.storage", nil, "Required value")
	} else if !quantity.MatchString(q) {
		v.add("spec.resources.requests.storage", q, "quantities must match the regular expression '%s'", quantity)
	}
	if m := s.VolumeMode; m != nil && *m != "Filesystem" && *m != "Block" {
		v.add("spec.volumeMode", *m, "Unsupported value: supported values: \"Block\", \"Filesystem\"")
	} else if m != nil && *m == "Block" {
		v.add("spec.volumeMode", *m, "Unsupported value: a local backend gives a claim a folder, not a block device")
	}
	if s.Selector != nil {
		v.selector(s.Selector, "spec.selector")
	}
}

// claimReferences checks that each claim an object's pods mount is in the manifests, in
// their namespace. Kubernetes would leave such a pod Pending until the claim exists; git
// is the whole desired state here, so the missing claim is invalid input, as a missing
// ConfigMap is.
func claimReferences(o *Object, objs map[Key]*Object) ErrorList {
	spec := o.PodSpec()
	if spec == nil {
		return nil
	}
	_, meta := o.Meta()
	var errs ErrorList
	for i, vol := range spec.Volumes {
		if c := vol.PersistentVolumeClaim; c != nil && objs[Key{Kind: "PersistentVolumeClaim", Namespace: meta.Namespace, Name: c.ClaimName}] == nil {
			errs = append(errs, o.errorf(fmt.Sprintf("%svolumes[%d].persistentVolumeClaim.claimName", podSpecPath(o), i), c.ClaimName,
				"Not found: persistentvolumeclaim %q is not in the manifests (namespace %s)", c.ClaimName, meta.Namespace))
		}
	}
	return errs
}
