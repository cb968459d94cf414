package kubeprint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Object is a Kubernetes-shaped object, as decoded from its JSON (numbers as
// json.Number).
type Object map[string]any

// ObjectOf returns v (a map, or a struct with JSON tags) as an Object: v as -o json
// prints it.
func ObjectOf(v any) (Object, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var o Object
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		return nil, err
	}
	return o, nil
}

// Get returns the value at a path of fields, nil when there is none.
func (o Object) Get(path ...string) any {
	var v any = map[string]any(o)
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// Str returns the string at path, "" when there is none.
func (o Object) Str(path ...string) string {
	s, _ := o.Get(path...).(string)
	return s
}

// Int returns the integer at path, 0 when there is none.
func (o Object) Int(path ...string) int64 {
	switch n := o.Get(path...).(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	}
	return 0
}

// Bool returns the boolean at path.
func (o Object) Bool(path ...string) bool {
	b, _ := o.Get(path...).(bool)
	return b
}

// Map returns the object at path, nil when there is none.
func (o Object) Map(path ...string) Object {
	m, _ := o.Get(path...).(map[string]any)
	return m
}

// List returns the objects of the list at path.
func (o Object) List(path ...string) []Object {
	l, _ := o.Get(path...).([]any)
	out := make([]Object, 0, len(l))
	for _, v := range l {
		m, _ := v.(map[string]any)
		out = append(out, m)
	}
	return out
}

// StrMap returns the map of strings at path (labels, annotations, a selector).
func (o Object) StrMap(path ...string) map[string]string {
	m := o.Map(path...)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// Time returns the RFC 3339 time at path, the zero time when there is none.
func (o Object) Time(path ...string) time.Time {
	t, _ := time.Parse(time.RFC3339, o.Str(path...))
	return t
}

// Decode decodes the value at path into v (a manifest type: a spec, a selector).
func (o Object) Decode(v any, path ...string) {
	data, err := json.Marshal(o.Get(path...))
	if err == nil {
		_ = json.Unmarshal(data, v)
	}
}
