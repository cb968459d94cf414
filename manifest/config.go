package manifest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
)

// ConfigDigestAnnotation is set on a pod template that takes values from ConfigMaps or
// Secrets: a digest of exactly those values, so that a change of their content changes
// the template and rolls its pods, as kapp and compose do.
const ConfigDigestAnnotation = "kgit.dev/config-digest"

// ConfigSources are the ConfigMaps and Secrets of an app, by namespace/name, decoded.
type ConfigSources struct {
	maps, secrets map[string]map[string]string
}

// NewConfigSources collects the ConfigMaps and Secrets among objs (manifest objects'
// Obj values: *ConfigMap, *Secret; others are ignored).
func NewConfigSources(objs []any) *ConfigSources {
	cs := &ConfigSources{maps: map[string]map[string]string{}, secrets: map[string]map[string]string{}}
	for _, o := range objs {
		switch v := o.(type) {
		case *ConfigMap:
			data := map[string]string{}
			for k, val := range v.Data {
				data[k] = val
			}
			for k, val := range v.BinaryData {
				b, _ := base64.StdEncoding.DecodeString(val)
				data[k] = string(b)
			}
			cs.maps[v.Namespace+"/"+v.Name] = data
		case *Secret:
			data := map[string]string{}
			for k, val := range v.Data {
				b, _ := base64.StdEncoding.DecodeString(val)
				data[k] = string(b)
			}
			for k, val := range v.StringData {
				data[k] = val
			}
			cs.secrets[v.Namespace+"/"+v.Name] = data
		}
	}
	return cs
}

// Resolved is what a container takes from ConfigMaps and Secrets: the envFrom
// variables in order, and the value of each env entry with a configMapKeyRef or
// secretKeyRef. It is handed to the backend with the pod, never printed.
type Resolved struct {
	From []EnvVar          `json:"from,omitempty"`
	Refs map[string]string `json:"refs,omitempty"`
}

// RefError is a reference to a missing ConfigMap, Secret or key; Field locates it in
// the container (env[2].valueFrom, envFrom[0]).
type RefError struct {
	Field string
	Msg   string
}

func (e *RefError) Error() string { return e.Msg }

// Resolve returns a container's values from ConfigMaps and Secrets of namespace ns. A
// missing source or key that is not optional is an error naming it (never a value).
func (cs *ConfigSources) Resolve(ns string, c *Container) (*Resolved, error) {
	r := &Resolved{Refs: map[string]string{}}
	for i, ef := range c.EnvFrom {
		kind, ref, src := "configmap", ef.ConfigMapRef, cs.maps
		if ef.SecretRef != nil {
			kind, ref, src = "secret", ef.SecretRef, cs.secrets
		}
		data, ok := src[ns+"/"+ref.Name]
		if !ok {
			if ref.Optional != nil && *ref.Optional {
				continue
			}
			return nil, &RefError{fmt.Sprintf("envFrom[%d]", i), fmt.Sprintf("%s %q not found in namespace %s", kind, ref.Name, ns)}
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r.From = append(r.From, EnvVar{Name: ef.Prefix + k, Value: data[k]})
		}
	}
	for i, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		field := fmt.Sprintf("env[%d].valueFrom", i)
		kind, ref, src := "configmap", e.ValueFrom.ConfigMapKeyRef, cs.maps
		if e.ValueFrom.SecretKeyRef != nil {
			kind, ref, src = "secret", e.ValueFrom.SecretKeyRef, cs.secrets
		}
		if ref == nil {
			continue
		}
		optional := ref.Optional != nil && *ref.Optional
		data, ok := src[ns+"/"+ref.Name]
		if !ok {
			if optional {
				continue
			}
			return nil, &RefError{field, fmt.Sprintf("%s %q not found in namespace %s", kind, ref.Name, ns)}
		}
		val, ok := data[ref.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, &RefError{field, fmt.Sprintf("key %q not found in %s %q", ref.Key, kind, ref.Name)}
		}
		r.Refs[e.Name] = val
	}
	return r, nil
}

// VolumeFile is one file of a configMap or secret volume; Path is relative to the
// volume's root.
type VolumeFile struct {
	Path string `json:"path"`
	Mode uint32 `json:"mode"`
	Data []byte `json:"data"`
}

// VolumeFiles are the files of one configMap or secret volume.
type VolumeFiles struct {
	Secret bool         `json:"secret,omitempty"`
	Files  []VolumeFile `json:"files"`
}

// FileMode is the mode a volume's file gets on disk: its own, except that a Secret's
// files lose their group and other bits (0644 becomes 0600).
func (vf *VolumeFiles) FileMode(f VolumeFile) fs.FileMode {
	m := fs.FileMode(f.Mode) & fs.ModePerm
	if vf.Secret {
		m &= 0o600
	}
	return m
}

// PodValues is what a pod takes from ConfigMaps and Secrets: each container's
// variables and each configMap or secret volume's files. It is handed to the backend
// with the pod, never printed.
type PodValues struct {
	Env   map[string]*Resolved    // by container name
	Files map[string]*VolumeFiles // by volume name
	// PullSecrets are the registry credentials of the pod's imagePullSecrets: each
	// Secret's .dockerconfigjson (or legacy .dockercfg), in order.
	PullSecrets []string
}

// Uses reports whether a pod spec takes anything from ConfigMaps or Secrets.
func Uses(spec *PodSpec) bool {
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil || v.Secret != nil {
			return true
		}
	}
	for _, c := range append(spec.InitContainers[:len(spec.InitContainers):len(spec.InitContainers)], spec.Containers...) {
		if len(c.EnvFrom) > 0 {
			return true
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && (e.ValueFrom.ConfigMapKeyRef != nil || e.ValueFrom.SecretKeyRef != nil) {
				return true
			}
		}
	}
	return false
}

// ForPod resolves everything a pod spec of namespace ns takes from ConfigMaps and
// Secrets. A RefError's Field is relative to the pod spec.
func (cs *ConfigSources) ForPod(ns string, spec *PodSpec) (*PodValues, error) {
	pv := &PodValues{Env: map[string]*Resolved{}, Files: map[string]*VolumeFiles{}}
	for _, list := range []struct {
		field      string
		containers []Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}} {
		for i := range list.containers {
			r, err := cs.Resolve(ns, &list.containers[i])
			if err != nil {
				var re *RefError
				if errors.As(err, &re) {
					re.Field = fmt.Sprintf("%s[%d].%s", list.field, i, re.Field)
				}
				return nil, err
			}
			pv.Env[list.containers[i].Name] = r
		}
	}
	for i, v := range spec.Volumes {
		var (
			kind, name, field string
			items             []KeyToPath
			mode              *int32
			optional          *bool
			src               map[string]map[string]string
		)
		switch {
		case v.ConfigMap != nil:
			kind, name, field, items, mode, optional, src = "configmap", v.ConfigMap.Name, "configMap", v.ConfigMap.Items, v.ConfigMap.DefaultMode, v.ConfigMap.Optional, cs.maps
		case v.Secret != nil:
			kind, name, field, items, mode, optional, src = "secret", v.Secret.SecretName, "secret", v.Secret.Items, v.Secret.DefaultMode, v.Secret.Optional, cs.secrets
		default:
			continue
		}
		files, err := volumeFiles(kind, name, src[ns+"/"+name], items, mode, optional != nil && *optional)
		if err != nil {
			return nil, &RefError{fmt.Sprintf("volumes[%d].%s", i, field), err.Error()}
		}
		files.Secret = v.Secret != nil
		pv.Files[v.Name] = files
	}
	// A pull secret that is missing is left out, as the kubelet leaves it (the pull may
	// then fail, naming the image).
	for _, name := range PullSecretNames(spec) {
		data := cs.secrets[ns+"/"+name]
		for _, key := range []string{".dockerconfigjson", ".dockercfg"} {
			if v, ok := data[key]; ok {
				pv.PullSecrets = append(pv.PullSecrets, v)
				break
			}
		}
	}
	return pv, nil
}

// PullSecretNames are the names of a pod spec's imagePullSecrets.
func PullSecretNames(spec *PodSpec) []string {
	var refs []struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(spec.ImagePullSecrets, &refs)
	var out []string
	for _, r := range refs {
		if r.Name != "" {
			out = append(out, r.Name)
		}
	}
	return out
}

// volumeFiles lays out a ConfigMap's or Secret's data as a volume: every key, or the
// listed items, with Kubernetes' default mode 0644.
func volumeFiles(kind, name string, data map[string]string, items []KeyToPath, defaultMode *int32, optional bool) (*VolumeFiles, error) {
	vf := &VolumeFiles{}
	if data == nil {
		if optional {
			return vf, nil
		}
		return nil, fmt.Errorf("%s %q not found", kind, name)
	}
	mode := uint32(0o644)
	if defaultMode != nil {
		mode = uint32(*defaultMode)
	}
	if len(items) == 0 {
		for k := range data {
			items = append(items, KeyToPath{Key: k, Path: k})
		}
		sort.Slice(items, func(i, j int) bool { return items[i].Key < items[j].Key })
	}
	for _, it := range items {
		val, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("key %q not found in %s %q", it.Key, kind, name)
		}
		m := mode
		if it.Mode != nil {
			m = uint32(*it.Mode)
		}
		vf.Files = append(vf.Files, VolumeFile{Path: it.Path, Mode: m, Data: []byte(val)})
	}
	return vf, nil
}

// digest is a hash of everything a pod spec takes from ConfigMaps and Secrets, "" when
// it takes nothing.
func (cs *ConfigSources) digest(ns string, spec *PodSpec) (string, error) {
	if !Uses(spec) {
		return "", nil
	}
	pv, err := cs.ForPod(ns, spec)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for i, c := range append(spec.InitContainers[:len(spec.InitContainers):len(spec.InitContainers)], spec.Containers...) {
		r := pv.Env[c.Name]
		for _, e := range r.From {
			fmt.Fprintf(h, "%d:%s=%q\n", i, e.Name, e.Value)
		}
		keys := make([]string, 0, len(r.Refs))
		for k := range r.Refs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%d:%s=%q\n", i, k, r.Refs[k])
		}
	}
	for _, v := range spec.Volumes {
		if vf := pv.Files[v.Name]; vf != nil {
			for _, f := range vf.Files {
				fmt.Fprintf(h, "volume %s:%s:%o=%q\n", v.Name, f.Path, f.Mode, f.Data)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// stampConfig checks that every ConfigMap and Secret the objects' pods use exists, and
// marks each pod template that uses some with a digest of the values it takes.
func stampConfig(objs []*Object) ErrorList {
	var all []any
	for _, o := range objs {
		all = append(all, o.Obj)
	}
	cs := NewConfigSources(all)
	var errs ErrorList
	for _, o := range objs {
		spec := o.PodSpec()
		if spec == nil {
			continue
		}
		_, meta := o.Meta()
		d, err := cs.digest(meta.Namespace, spec)
		if err != nil {
			path := podSpecPath(o) + "containers"
			var re *RefError
			if errors.As(err, &re) {
				path = podSpecPath(o) + re.Field
			}
			errs = append(errs, o.errorf(path, nil, "%v", err))
			continue
		}
		if d == "" {
			continue
		}
		tmpl := o.templateMeta()
		if tmpl.Annotations == nil {
			tmpl.Annotations = map[string]string{}
		}
		tmpl.Annotations[ConfigDigestAnnotation] = d
	}
	return errs
}

// templateMeta is the metadata of an object's pods: its template's, or a Pod's own.
func (o *Object) templateMeta() *ObjectMeta {
	meta, _, _ := o.pod()
	return meta
}
