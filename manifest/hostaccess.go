package manifest

import (
	"encoding/json"
	"fmt"
)

// HostAccess lists the fields of an object's pod spec that give its containers access
// to the host (its network, processes, IPC, devices, files, kernel capabilities), each as
// a FieldError located in the manifest. A container backend refuses them unless the user
// allows host access.
func HostAccess(o *Object) []*FieldError {
	spec := o.PodSpec()
	if spec == nil {
		return nil
	}
	prefix := podSpecPath(o)
	var out []*FieldError
	add := func(path, what string) {
		out = append(out, o.errorf(prefix+path, nil, "Forbidden: %s gives the pod access to the host; pass --allow-host-access to allow it", what))
	}
	for _, f := range []struct {
		field string
		on    bool
	}{{"hostNetwork", spec.HostNetwork}, {"hostPID", spec.HostPID}, {"hostIPC", spec.HostIPC}} {
		if f.on {
			add(f.field, f.field)
		}
	}
	for _, v := range HostPathVolumes(spec) {
		add(fmt.Sprintf("volumes[%d].hostPath", v.Index), "a hostPath volume ("+v.Path+")")
	}
	for i, c := range spec.Containers {
		sc := ContainerSecurity(&c)
		if sc.Privileged {
			add(fmt.Sprintf("containers[%d].securityContext.privileged", i), "privileged")
		}
		if len(sc.Add) > 0 {
			add(fmt.Sprintf("containers[%d].securityContext.capabilities.add", i), fmt.Sprintf("adding capabilities %v", sc.Add))
		}
	}
	return out
}

// Security is the part of a container's securityContext that concerns the host.
type Security struct {
	Privileged bool
	Add        []string
}

// ContainerSecurity reads privileged and capabilities.add from a container's
// securityContext.
func ContainerSecurity(c *Container) Security {
	var sc struct {
		Privileged   *bool `json:"privileged"`
		Capabilities *struct {
			Add []string `json:"add"`
		} `json:"capabilities"`
	}
	_ = json.Unmarshal(c.SecurityContext, &sc)
	var s Security
	if sc.Privileged != nil {
		s.Privileged = *sc.Privileged
	}
	if sc.Capabilities != nil {
		s.Add = sc.Capabilities.Add
	}
	return s
}

// HostPathVolume is a hostPath volume of a pod.
type HostPathVolume struct {
	Index      int
	Name, Path string
}

// HostPathVolumes reads the hostPath volumes of a pod spec.
func HostPathVolumes(spec *PodSpec) []HostPathVolume {
	var vols []struct {
		Name     string `json:"name"`
		HostPath *struct {
			Path string `json:"path"`
		} `json:"hostPath"`
	}
	_ = json.Unmarshal(spec.Volumes, &vols)
	var out []HostPathVolume
	for i, v := range vols {
		if v.HostPath != nil {
			out = append(out, HostPathVolume{Index: i, Name: v.Name, Path: v.HostPath.Path})
		}
	}
	return out
}

// VolumeMount is a container's mount of a pod volume.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly"`
}

// VolumeMounts reads a container's volumeMounts.
func VolumeMounts(c *Container) []VolumeMount {
	var m []VolumeMount
	_ = json.Unmarshal(c.VolumeMounts, &m)
	return m
}

// VolumeWarnings warns, for a backend that mounts only hostPath volumes, about each
// other volume of the object.
func VolumeWarnings(o *Object, backend string) []string {
	spec := o.PodSpec()
	if spec == nil {
		return nil
	}
	var vols []map[string]json.RawMessage
	_ = json.Unmarshal(spec.Volumes, &vols)
	var out []string
	for i, v := range vols {
		if _, ok := v["hostPath"]; !ok {
			path := fmt.Sprintf("%svolumes[%d]", podSpecPath(o), i)
			out = append(out, fmt.Sprintf("%s:%d: %s: only hostPath volumes are mounted by the %s backend: accepted but not honoured", o.File, o.LineOf(path), path, backend))
		}
	}
	return out
}
