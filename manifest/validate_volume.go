package manifest

import (
	"fmt"
	"path"
	"strings"
)

// volumes checks a pod's volumes as the API server does: unique DNS-label names, one
// source each, and what each source requires.
func (v *validator) volumes(vols []Volume, at string) {
	names := map[string]bool{}
	for i, vol := range vols {
		p := fmt.Sprintf("%s[%d]", at, i)
		if vol.Name == "" {
			v.add(p+".name", nil, "Required value")
		} else {
			v.dnsLabel(vol.Name, p+".name")
			if names[vol.Name] {
				v.add(p+".name", vol.Name, "Duplicate value")
			}
			names[vol.Name] = true
		}
		sources := 0
		for _, set := range []bool{vol.HostPath != nil, vol.EmptyDir != nil, vol.ConfigMap != nil, vol.Secret != nil,
			vol.PersistentVolumeClaim != nil, vol.Projected != nil, vol.DownwardAPI != nil, vol.Ephemeral != nil,
			vol.CSI != nil, vol.NFS != nil, vol.ISCSI != nil, vol.Image != nil} {
			if set {
				sources++
			}
		}
		switch {
		case sources == 0:
			v.add(p, nil, "Required value: must specify a volume type")
		case sources > 1:
			v.add(p, nil, "Forbidden: may not specify more than 1 volume type")
		}
		switch {
		case vol.HostPath != nil:
			if vol.HostPath.Path == "" {
				v.add(p+".hostPath.path", nil, "Required value")
			}
		case vol.ConfigMap != nil:
			if vol.ConfigMap.Name == "" {
				v.add(p+".configMap.name", nil, "Required value")
			}
			v.projection(vol.ConfigMap.Items, vol.ConfigMap.DefaultMode, p+".configMap")
		case vol.Secret != nil:
			if vol.Secret.SecretName == "" {
				v.add(p+".secret.secretName", nil, "Required value")
			}
			v.projection(vol.Secret.Items, vol.Secret.DefaultMode, p+".secret")
		case vol.PersistentVolumeClaim != nil:
			if vol.PersistentVolumeClaim.ClaimName == "" {
				v.add(p+".persistentVolumeClaim.claimName", nil, "Required value")
			} else {
				v.dnsSubdomain(vol.PersistentVolumeClaim.ClaimName, p+".persistentVolumeClaim.claimName")
			}
		}
	}
}

// projection checks the items and modes of a configMap or secret volume.
func (v *validator) projection(items []KeyToPath, defaultMode *int32, at string) {
	v.fileMode(defaultMode, at+".defaultMode")
	paths := map[string]bool{}
	for i, it := range items {
		p := fmt.Sprintf("%s.items[%d]", at, i)
		if it.Key == "" {
			v.add(p+".key", nil, "Required value")
		} else if !validConfigKey(it.Key) {
			v.add(p+".key", it.Key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
		}
		if it.Path == "" {
			v.add(p+".path", nil, "Required value")
		} else {
			v.relativePath(it.Path, p+".path")
			if paths[it.Path] {
				v.add(p+".path", it.Path, "Duplicate value")
			}
			paths[it.Path] = true
		}
		v.fileMode(it.Mode, p+".mode")
	}
}

func (v *validator) fileMode(m *int32, at string) {
	if m != nil && (*m < 0 || *m > 0o777) {
		v.add(at, *m, "must be a number between 0 and 0777 (octal), both inclusive")
	}
}

// relativePath refuses absolute paths and any '..' element, so nothing is written
// outside a volume.
func (v *validator) relativePath(p, at string) {
	if path.IsAbs(p) {
		v.add(at, p, "must be a relative path")
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			v.add(at, p, "must not contain '..'")
			return
		}
	}
}

// volumeMounts checks a container's mounts: each names a volume of the pod, at an
// absolute path used once.
func (v *validator) volumeMounts(mounts []VolumeMount, at string) {
	spec := v.obj.PodSpec()
	seen := map[string]bool{}
	for i, m := range mounts {
		p := fmt.Sprintf("%s[%d]", at, i)
		if m.Name == "" {
			v.add(p+".name", nil, "Required value")
		} else if spec != nil && spec.FindVolume(m.Name) == nil && !v.claimTemplate(m.Name) {
			v.add(p+".name", m.Name, "Not found")
		}
		switch {
		case m.MountPath == "":
			v.add(p+".mountPath", nil, "Required value")
		case !path.IsAbs(m.MountPath):
			v.add(p+".mountPath", m.MountPath, "must be an absolute path on kgit")
		case seen[path.Clean(m.MountPath)]:
			v.add(p+".mountPath", m.MountPath, "must be unique")
		}
		seen[path.Clean(m.MountPath)] = true
		if m.SubPath != "" {
			v.relativePath(m.SubPath, p+".subPath")
		}
	}
}

// claimTemplate reports whether a StatefulSet being validated has a volume claim
// template of that name (its pods get such a volume).
func (v *validator) claimTemplate(name string) bool {
	if ss, ok := v.obj.Obj.(*StatefulSet); ok {
		for _, c := range ss.Spec.VolumeClaimTemplates {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}
