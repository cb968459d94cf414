package kubeprint

import (
	"fmt"
	"io"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

// templateColumns are a controller's CONTAINERS and IMAGES (-o wide), from its pod
// template.
func templateColumns() []Column {
	return []Column{
		{Name: "CONTAINERS", Wide: true, Cell: func(o Object, _ time.Time) string { return containersImages(o)[0] }},
		{Name: "IMAGES", Wide: true, Cell: func(o Object, _ time.Time) string { return containersImages(o)[1] }},
	}
}

// selectorColumn is a controller's SELECTOR (-o wide).
var selectorColumn = Column{Name: "SELECTOR", Wide: true, Cell: func(o Object, _ time.Time) string { return selector(o).String() }}

// containersImages are the names and images of a template's containers (at path: by
// default spec.template.spec).
func containersImages(o Object, path ...string) [2]string {
	if len(path) == 0 {
		path = []string{"spec", "template", "spec"}
	}
	var names, images []string
	for _, c := range o.List(append(path, "containers")...) {
		names = append(names, c.Str("name"))
		images = append(images, c.Str("image"))
	}
	return [2]string{strings.Join(names, ","), strings.Join(images, ",")}
}

// selector is a controller's spec.selector.
func selector(o Object) *manifest.LabelSelector {
	if o.Get("spec", "selector") == nil {
		return nil
	}
	sel := &manifest.LabelSelector{}
	o.Decode(sel, "spec", "selector")
	return sel
}

// field prints one line of describe: a label padded as kubectl pads it, and a value.
func field(w io.Writer, k, val string) { fmt.Fprintf(w, "%-24s%s\n", k+":", val) }

// describeTemplate prints a pod spec's volumes and containers (never a Secret's value).
func describeTemplate(w io.Writer, o Object, path ...string) {
	spec := &manifest.PodSpec{}
	o.Decode(spec, path...)
	describeVolumes(w, spec)
	fmt.Fprintln(w, "Pod Template:")
	for _, c := range spec.Containers {
		fmt.Fprintf(w, "  %s:\n    Image:    %s\n    Command:  %s\n", c.Name, c.Image, strings.Join(append(append([]string{}, c.Command...), c.Args...), " "))
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				fmt.Fprintf(w, "    EnvFrom:  configmap %s (prefix %q)\n", ef.ConfigMapRef.Name, ef.Prefix)
			} else if ef.SecretRef != nil {
				fmt.Fprintf(w, "    EnvFrom:  secret %s (prefix %q)\n", ef.SecretRef.Name, ef.Prefix)
			}
		}
		for _, e := range c.Env {
			val := e.Value
			switch src := e.ValueFrom; {
			case src == nil:
			case src.FieldRef != nil:
				val = "(" + src.FieldRef.FieldPath + ")"
			case src.ConfigMapKeyRef != nil:
				val = fmt.Sprintf("(configmap %s key %s)", src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Key)
			case src.SecretKeyRef != nil:
				val = fmt.Sprintf("(secret %s key %s)", src.SecretKeyRef.Name, src.SecretKeyRef.Key)
			}
			fmt.Fprintf(w, "    Env:      %s=%s\n", e.Name, val)
		}
	}
}

// describeVolumes lists a pod spec's volumes and what each is made of (never a value).
func describeVolumes(w io.Writer, spec *manifest.PodSpec) {
	if len(spec.Volumes) == 0 {
		return
	}
	fmt.Fprintln(w, "Volumes:")
	for _, vol := range spec.Volumes {
		what := "(not mounted by kgit)"
		switch {
		case vol.ConfigMap != nil:
			what = "configmap " + vol.ConfigMap.Name
		case vol.Secret != nil:
			what = "secret " + vol.Secret.SecretName
		case vol.EmptyDir != nil:
			what = "emptyDir"
		case vol.PersistentVolumeClaim != nil:
			what = "claim " + vol.PersistentVolumeClaim.ClaimName
		case vol.HostPath != nil:
			what = "hostPath " + vol.HostPath.Path
		}
		fmt.Fprintf(w, "  %-22s%s\n", vol.Name+":", what)
	}
}
