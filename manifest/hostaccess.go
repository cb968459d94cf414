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
	for i, v := range spec.Volumes {
		if v.HostPath != nil {
			add(fmt.Sprintf("volumes[%d].hostPath", i), "a hostPath volume ("+v.HostPath.Path+")")
		}
	}
	for _, list := range []struct {
		field      string
		containers []Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}} {
		for i, c := range list.containers {
			sc := ContainerSecurity(&c)
			if sc.Privileged {
				add(fmt.Sprintf("%s[%d].securityContext.privileged", list.field, i), "privileged")
			}
			if len(sc.Add) > 0 {
				add(fmt.Sprintf("%s[%d].securityContext.capabilities.add", list.field, i), fmt.Sprintf("adding capabilities %v", sc.Add))
			}
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

// UnhonouredVolumeFields are the volume fields, as Unhonoured matches them, that no
// backend honours: every backend adds them to its own list.
func UnhonouredVolumeFields() []string {
	out := []string{"containers[].volumeMounts[].mountPropagation", "containers[].volumeMounts[].subPathExpr",
		"containers[].volumeMounts[].recursiveReadOnly", "volumes[].emptyDir.sizeLimit", "volumes[].hostPath.type"}
	for _, s := range UnhonouredVolumeSources {
		out = append(out, "volumes[]."+s)
	}
	return out
}

// UnhonouredLifecycleFields are the lifecycle fields, as Unhonoured matches them, that no
// backend honours: a tcpSocket hook (Kubernetes accepts it and does nothing either) and
// stopSignal.
func UnhonouredLifecycleFields() []string {
	var out []string
	for _, list := range []string{"containers[]", "initContainers[]"} {
		out = append(out, list+".lifecycle.postStart.tcpSocket", list+".lifecycle.preStop.tcpSocket", list+".lifecycle.stopSignal")
	}
	return out
}
