package manifest

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Warning is something valid in the manifests that the chosen backend will not honour:
// a field (File, Line, Path), or with Msg, a value or a whole kind.
type Warning struct {
	File    string
	Line    int
	Path    string
	Backend string
	Msg     string // what is not honoured, and how it is served; "" for a field
}

func (w Warning) String() string {
	var b strings.Builder
	if w.File != "" {
		b.WriteString(w.File)
		if w.Line > 0 {
			fmt.Fprintf(&b, ":%d", w.Line)
		}
		b.WriteString(": ")
	}
	if w.Path != "" {
		b.WriteString(w.Path + ": ")
	}
	if w.Msg != "" {
		b.WriteString(w.Msg)
	} else {
		fmt.Fprintf(&b, "accepted but not honoured by the %s backend", w.Backend)
	}
	return b.String()
}

var index = regexp.MustCompile(`\[\d+\]`)

// PodSpec returns the object's pod spec (its template's, for a controller), nil for a
// kind without pods.
func (o *Object) PodSpec() *PodSpec {
	_, spec, _ := o.pod()
	return spec
}

// pod returns the metadata and spec of the object's pods (its template's, or a Pod's
// own) and the path of that spec in the object; nils for a kind without pods.
func (o *Object) pod() (*ObjectMeta, *PodSpec, string) {
	if k := o.Kind(); k.pod != nil {
		return k.pod(o.Obj.(Resource))
	}
	return nil, nil, ""
}

// podSpecPath is where the pod spec sits in an object.
func podSpecPath(o *Object) string {
	_, _, path := o.pod()
	return path
}

// Unhonoured returns one warning for each field written in the object that matches a
// pattern of fields (relative to the pod spec, list indices as []) the backend ignores,
// and for each Service field that no backend honours.
func Unhonoured(o *Object, backend string, patterns []string) []Warning {
	prefix := podSpecPath(o)
	if prefix == "" {
		patterns = nil
	}
	var out []Warning
	for path, line := range o.lines {
		norm := index.ReplaceAllString(path, "[]")
		rel, ok := strings.CutPrefix(norm, prefix)
		if ok && slices.Contains(patterns, rel) || slices.Contains(o.Kind().unhonoured, norm) {
			out = append(out, Warning{File: o.File, Line: line, Path: path, Backend: backend})
		}
	}
	out = append(out, o.Kind().warnings(o, backend)...)
	sort.Slice(out, func(i, j int) bool {
		return out[i].Line < out[j].Line || out[i].Line == out[j].Line && out[i].Path < out[j].Path
	})
	return out
}
