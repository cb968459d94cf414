package kubernetes

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// owned returns the part of a live object whose fields the field manager kgit set with
// server-side apply, with their live values: what kgit applied, as the server keeps it.
// A field someone else changed since (kubectl scale, kubectl edit) has moved to that
// manager and is missing here, so the GitOps layer sees the drift and applies again.
func owned(u *unstructured.Unstructured) (map[string]any, bool) {
	for _, mf := range u.GetManagedFields() {
		if mf.Manager != FieldManager || mf.Operation != "Apply" || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if err := json.Unmarshal(mf.FieldsV1.Raw, &set); err != nil {
			return nil, false
		}
		out, _ := extractMap(u.Object, set).(map[string]any)
		if out == nil {
			out = map[string]any{}
		}
		out["apiVersion"] = u.GetAPIVersion()
		out["kind"] = u.GetKind()
		return out, true
	}
	return nil, false
}

// extractMap keeps the fields of a map that a FieldsV1 set names ("f:name").
func extractMap(v any, set map[string]any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, sub := range set {
		name, ok := strings.CutPrefix(k, "f:")
		if !ok {
			continue
		}
		child, present := m[name]
		if !present {
			continue
		}
		out[name] = extract(child, sub)
	}
	return out
}

// extract keeps the part of a value that a FieldsV1 subset names: all of it when the
// subset is a leaf.
func extract(v any, sub any) any {
	set, _ := sub.(map[string]any)
	if leaf(set) {
		return v
	}
	switch val := v.(type) {
	case map[string]any:
		return extractMap(val, set)
	case []any:
		return extractList(val, set)
	}
	return v
}

// leaf reports a FieldsV1 set that names nothing below itself.
func leaf(set map[string]any) bool {
	for k := range set {
		if k != "." {
			return false
		}
	}
	return true
}

// extractList keeps a list's elements that a FieldsV1 set names by key ("k:{...}"),
// value ("v:...") or index ("i:N"), in the live order.
func extractList(list []any, set map[string]any) []any {
	keep := make([]any, len(list))
	for k, sub := range set {
		switch {
		case strings.HasPrefix(k, "k:"):
			var keys map[string]any
			if json.Unmarshal([]byte(k[2:]), &keys) != nil {
				continue
			}
			for i, e := range list {
				if matchesKeys(e, keys) {
					keep[i] = extract(e, sub)
					break
				}
			}
		case strings.HasPrefix(k, "v:"):
			var want any
			if json.Unmarshal([]byte(k[2:]), &want) != nil {
				continue
			}
			for i, e := range list {
				if jsonEqual(e, want) {
					keep[i] = e
					break
				}
			}
		case strings.HasPrefix(k, "i:"):
			if i, err := strconv.Atoi(k[2:]); err == nil && i >= 0 && i < len(list) {
				keep[i] = extract(list[i], sub)
			}
		}
	}
	out := make([]any, 0, len(list))
	for _, e := range keep {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

func matchesKeys(e any, keys map[string]any) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	for k, want := range keys {
		if !jsonEqual(m[k], want) {
			return false
		}
	}
	return true
}

// jsonEqual compares two decoded JSON values, numbers by value (the live object holds
// int64, a decoded key float64).
func jsonEqual(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
