package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
)

// Unstructured is an object of a kind kgit does not model (ServiceAccount, Role,
// NetworkPolicy, a CustomResourceDefinition, any custom resource, ...): its apiVersion,
// kind and metadata, decoded for kgit to name, default and validate it, and the whole
// document kept exactly as it was written, so that it can be shown, diffed, pruned, and
// applied to a cluster unchanged.
type Unstructured struct {
	TypeMeta
	ObjectMeta
	// Raw is the document as written, as JSON, its keys in the order written.
	Raw json.RawMessage
	// written is the metadata as Raw has it, to tell whether ObjectMeta was changed
	// (the namespace defaulted, an annotation added).
	written ObjectMeta
}

// unstructuredShape is what decoding checks of an Unstructured: any other field is
// kept as written.
var unstructuredShape = reflect.TypeOf(struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
}{})

// UnmarshalJSON keeps data as Raw and decodes its apiVersion, kind and metadata.
func (u *Unstructured) UnmarshalJSON(data []byte) error {
	var head struct {
		TypeMeta `json:",inline"`
		Metadata ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return err
	}
	u.TypeMeta, u.ObjectMeta, u.Raw = head.TypeMeta, head.Metadata, bytes.Clone(data)
	u.written = head.Metadata
	u.written.Labels, u.written.Annotations = maps.Clone(head.Metadata.Labels), maps.Clone(head.Metadata.Annotations)
	return nil
}

// MarshalJSON writes the document: Raw as written when apiVersion, kind and metadata
// are unchanged, else Raw with them replaced (keys then in sorted order).
func (u Unstructured) MarshalJSON() ([]byte, error) {
	if u.Raw != nil && u.unchanged() {
		return u.Raw, nil
	}
	doc, err := u.Map()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

func (u *Unstructured) unchanged() bool {
	var head struct{ TypeMeta }
	if json.Unmarshal(u.Raw, &head) != nil || head.TypeMeta != u.TypeMeta {
		return false
	}
	m, w := &u.ObjectMeta, &u.written
	return m.Name == w.Name && m.GenerateName == w.GenerateName && m.Namespace == w.Namespace &&
		maps.Equal(m.Labels, w.Labels) && maps.Equal(m.Annotations, w.Annotations)
}

// Map returns the object as a map, as the API returns it: the document as written, with
// apiVersion, kind and metadata as they are now. Numbers are json.Number.
func (u *Unstructured) Map() (map[string]any, error) {
	doc := map[string]any{}
	if len(u.Raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(u.Raw))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, err
		}
	}
	doc["apiVersion"], doc["kind"] = u.APIVersion, u.Kind
	md, _ := doc["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	set := func(k string, v any, empty bool) {
		if empty {
			delete(md, k)
		} else {
			md[k] = v
		}
	}
	m := &u.ObjectMeta
	set("name", m.Name, m.Name == "")
	set("generateName", m.GenerateName, m.GenerateName == "")
	set("namespace", m.Namespace, m.Namespace == "")
	set("labels", m.Labels, len(m.Labels) == 0)
	set("annotations", m.Annotations, len(m.Annotations) == 0)
	doc["metadata"] = md
	return doc, nil
}

// CustomKinds returns the kinds the CustomResourceDefinitions among objs define: group,
// plural, short names and scope as they say, for their custom resources.
func CustomKinds(objs []*Object) []*Kind {
	var out []*Kind
	for _, o := range objs {
		u, ok := o.Obj.(*Unstructured)
		if !ok || u.Kind != "CustomResourceDefinition" {
			continue
		}
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind       string   `json:"kind"`
					Plural     string   `json:"plural"`
					ShortNames []string `json:"shortNames"`
				} `json:"names"`
				Scope    string `json:"scope"`
				Versions []struct {
					Name string `json:"name"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if json.Unmarshal(u.Raw, &crd) != nil || crd.Spec.Names.Kind == "" {
			continue
		}
		s := crd.Spec
		k := &Kind{Kind: s.Names.Kind, Group: s.Group, Plural: s.Names.Plural, ShortNames: s.Names.ShortNames, Namespaced: s.Scope != "Cluster"}
		for _, v := range s.Versions {
			k.Versions = append(k.Versions, v.Name)
		}
		if k.Plural == "" {
			k.Plural = GuessPlural(k.Kind)
		}
		if len(k.Versions) == 0 {
			k.Versions = []string{""}
		}
		out = append(out, k)
	}
	return out
}

// scopeCustomResources gives each custom resource among objs the kind its
// CustomResourceDefinition (among objs too) defines: a cluster-scoped one loses the
// namespace defaulting gave it.
func scopeCustomResources(objs []*Object) {
	crds := CustomKinds(objs)
	if len(crds) == 0 {
		return
	}
	for _, o := range objs {
		t, meta := o.Meta()
		if _, ok := o.Obj.(*Unstructured); !ok {
			continue
		}
		if k := KindOf(t.APIVersion, t.Kind, crds); slices.Contains(crds, k) {
			o.kind = k
			if !k.Namespaced {
				meta.Namespace = ""
			}
		}
	}
}

// KindWarnings returns one warning for each kind among objs that kgit keeps as a record
// without enforcing it, in kind order: "ServiceAccount: kept as a record; the process
// backend does not enforce it".
func KindWarnings(objs []*Object, backend string) []Warning {
	seen := map[string]bool{}
	var out []Warning
	for _, o := range objs {
		if k := o.Kind(); !k.Modelled() && !seen[k.Kind] {
			seen[k.Kind] = true
			out = append(out, Warning{Backend: backend, Msg: fmt.Sprintf("%s: kept as a record; the %s backend does not enforce it", k.Kind, backend)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Msg < out[j].Msg })
	return out
}
