package manifest

import "encoding/json"

// Volume is v1 Volume. kgit mounts hostPath, emptyDir, configMap, secret and
// persistentVolumeClaim volumes; the other sources are valid and accepted, and a
// warning says they are not honoured.
type Volume struct {
	Name                  string                 `json:"name"`
	HostPath              *HostPathVolumeSource  `json:"hostPath,omitempty"`
	EmptyDir              *EmptyDirVolumeSource  `json:"emptyDir,omitempty"`
	ConfigMap             *ConfigMapVolumeSource `json:"configMap,omitempty"`
	Secret                *SecretVolumeSource    `json:"secret,omitempty"`
	PersistentVolumeClaim *ClaimVolumeSource     `json:"persistentVolumeClaim,omitempty"`
	Projected             json.RawMessage        `json:"projected,omitempty"`
	DownwardAPI           json.RawMessage        `json:"downwardAPI,omitempty"`
	Ephemeral             json.RawMessage        `json:"ephemeral,omitempty"`
	CSI                   json.RawMessage        `json:"csi,omitempty"`
	NFS                   json.RawMessage        `json:"nfs,omitempty"`
	ISCSI                 json.RawMessage        `json:"iscsi,omitempty"`
	Image                 json.RawMessage        `json:"image,omitempty"`
}

// UnhonouredVolumeSources are the volume sources kgit accepts but does not mount.
var UnhonouredVolumeSources = []string{"projected", "downwardAPI", "ephemeral", "csi", "nfs", "iscsi", "image"}

// HostPathVolumeSource is a file or directory of the host.
type HostPathVolumeSource struct {
	Path string  `json:"path"`
	Type *string `json:"type,omitempty"`
}

// EmptyDirVolumeSource is a folder that lives as long as its pod.
type EmptyDirVolumeSource struct {
	Medium    string          `json:"medium,omitempty"`
	SizeLimit json.RawMessage `json:"sizeLimit,omitempty"`
}

// ConfigMapVolumeSource projects a ConfigMap's keys as files.
type ConfigMapVolumeSource struct {
	Name        string      `json:"name"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
}

// SecretVolumeSource projects a Secret's keys as files.
type SecretVolumeSource struct {
	SecretName  string      `json:"secretName"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
}

// KeyToPath puts one key at a path of its own.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
	Mode *int32 `json:"mode,omitempty"`
}

// ClaimVolumeSource names a persistent volume claim: on kgit, a named volume that is
// created on first use and kept until it is removed on purpose.
type ClaimVolumeSource struct {
	ClaimName string `json:"claimName"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// VolumeMount is v1 VolumeMount.
type VolumeMount struct {
	Name              string  `json:"name"`
	MountPath         string  `json:"mountPath"`
	ReadOnly          bool    `json:"readOnly,omitempty"`
	SubPath           string  `json:"subPath,omitempty"`
	SubPathExpr       string  `json:"subPathExpr,omitempty"`
	MountPropagation  *string `json:"mountPropagation,omitempty"`
	RecursiveReadOnly *string `json:"recursiveReadOnly,omitempty"`
}

// FindVolume returns the pod volume named name, or nil.
func (s *PodSpec) FindVolume(name string) *Volume {
	for i := range s.Volumes {
		if s.Volumes[i].Name == name {
			return &s.Volumes[i]
		}
	}
	return nil
}
