package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/util/jsonpath"

	"kgit.dev/kgit/cmd/kgit/cli/kubeprint"
	"kgit.dev/kgit/manifest"
)

// outputFormat is -o, parsed: wide, json, yaml, name, jsonpath=, jsonpath-file=,
// custom-columns= (as kubectl spells them).
type outputFormat struct {
	kind    string // "", wide, json, yaml, name, jsonpath, custom-columns
	path    *jsonpath.JSONPath
	columns []customColumn
}

type customColumn struct {
	header string
	path   *jsonpath.JSONPath
}

const outputFormats = "wide, json, yaml, name, jsonpath=..., jsonpath-file=..., custom-columns=..."

func parseOutput(s string) (outputFormat, error) {
	kind, arg, _ := strings.Cut(s, "=")
	switch kind {
	case "", "wide", "json", "yaml", "name":
		if arg != "" {
			break
		}
		return outputFormat{kind: kind}, nil
	case "jsonpath", "jsonpath-file":
		tmpl := arg
		if kind == "jsonpath-file" {
			data, err := os.ReadFile(arg)
			if err != nil {
				return outputFormat{}, invalid("--output %s: %v", s, err)
			}
			tmpl = string(data)
		}
		p, err := parseJSONPath("jsonpath", tmpl)
		if err != nil {
			return outputFormat{}, invalid("error parsing jsonpath %s, %v", tmpl, err)
		}
		return outputFormat{kind: "jsonpath", path: p}, nil
	case "custom-columns":
		var cols []customColumn
		for _, spec := range strings.Split(arg, ",") {
			header, expr, ok := strings.Cut(spec, ":")
			if !ok || header == "" {
				return outputFormat{}, invalid("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", spec)
			}
			p, err := parseJSONPath(header, relaxed(expr))
			if err != nil {
				return outputFormat{}, invalid("error parsing jsonpath %s, %v", expr, err)
			}
			cols = append(cols, customColumn{header: header, path: p})
		}
		if len(cols) == 0 {
			return outputFormat{}, invalid("custom-columns format specified but no custom columns given")
		}
		return outputFormat{kind: "custom-columns", columns: cols}, nil
	}
	return outputFormat{}, invalid("--output %q: supported: %s", s, outputFormats)
}

func parseJSONPath(name, tmpl string) (*jsonpath.JSONPath, error) {
	p := jsonpath.New(name).AllowMissingKeys(true)
	if err := p.Parse(tmpl); err != nil {
		return nil, err
	}
	return p, nil
}

// relaxed is kubectl's RelaxedJSONPathExpression: .a.b, a.b and {.a.b} all mean {.a.b}.
func relaxed(expr string) string {
	expr = strings.TrimSuffix(strings.TrimPrefix(expr, "{"), "}")
	if !strings.HasPrefix(expr, ".") {
		expr = "." + expr
	}
	return "{" + expr + "}"
}

// generic turns a view's object into plain JSON values for JSONPath.
func generic(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return out, dec.Decode(&out)
}

// printJSONPath prints the template over the one object, or over a List of them.
func printJSONPath(w io.Writer, p *jsonpath.JSONPath, vs []view, single bool) error {
	obj, err := generic(listOf(vs, single))
	if err != nil {
		return err
	}
	return p.Execute(w, obj)
}

// customCells are the custom columns of kubectl: each path's results, comma separated,
// <none> when there are none.
func customCells(cols []customColumn) []kubeprint.Column {
	out := make([]kubeprint.Column, len(cols))
	for i, c := range cols {
		out[i] = kubeprint.Column{Name: c.header, Cell: func(o kubeprint.Object, _ time.Time) string {
			return jsonPathCell(c.path, map[string]any(o))
		}}
	}
	return out
}

func jsonPathCell(p *jsonpath.JSONPath, o any) string {
	results, err := p.FindResults(o)
	if err != nil {
		return "<none>"
	}
	var vals []string
	for _, r := range results {
		for _, v := range r {
			if !v.IsValid() || !v.CanInterface() || v.Interface() == nil {
				continue
			}
			switch x := v.Interface().(type) {
			case string:
				vals = append(vals, x)
			case json.Number:
				vals = append(vals, x.String())
			default:
				b, _ := json.Marshal(x)
				vals = append(vals, string(b))
			}
		}
	}
	if len(vals) == 0 {
		return "<none>"
	}
	return strings.Join(vals, ",")
}

// sortViews sorts by a JSONPath field as kubectl's --sort-by: numbers by value, times by
// time, anything else as text; objects without the field first.
func sortViews(vs []view, field string) error {
	p, err := parseJSONPath("sort-by", relaxed(field))
	if err != nil {
		return invalid("--sort-by %s: %v", field, err)
	}
	keys := make([]string, len(vs))
	for i, v := range vs {
		o, err := generic(v.obj)
		if err != nil {
			return err
		}
		if keys[i] = jsonPathCell(p, o); keys[i] == "<none>" {
			keys[i] = ""
		}
	}
	idx := make([]int, len(vs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lessKey(keys[idx[a]], keys[idx[b]]) })
	sorted := make([]view, len(vs))
	for i, j := range idx {
		sorted[i] = vs[j]
	}
	copy(vs, sorted)
	return nil
}

func lessKey(a, b string) bool {
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			return x < y
		}
	}
	if x, err := time.Parse(time.RFC3339, a); err == nil {
		if y, err := time.Parse(time.RFC3339, b); err == nil {
			return x.Before(y)
		}
	}
	return a < b
}

// qualifiedName is -o name's KIND.GROUP/NAME (pod/web-1, deployment.apps/web).
func qualifiedName(v view) string {
	if k, ok := manifest.LookupKind(v.kind); ok {
		if k.Group == "" {
			return strings.ToLower(k.Kind) + "/" + v.name
		}
		return strings.ToLower(k.Kind) + "." + k.Group + "/" + v.name
	}
	o, _ := kubeprint.ObjectOf(v.obj)
	group, _, _ := strings.Cut(o.Str("apiVersion"), "/")
	if !strings.Contains(o.Str("apiVersion"), "/") {
		group = ""
	}
	if group == "" {
		return strings.ToLower(v.kind) + "/" + v.name
	}
	return strings.ToLower(v.kind) + "." + group + "/" + v.name
}

// labelColumns are --show-labels' LABELS and -L's one column per key, from the labels
// -l matches (a pod's template labels; kgit's own kgit.dev/ labels are left out).
func labelColumns(vs []view, showLabels bool, keys []string) []kubeprint.Column {
	labels := map[string]map[string]string{}
	for _, v := range vs {
		labels[v.namespace+"/"+v.name] = v.labels
	}
	of := func(o kubeprint.Object) map[string]string {
		return labels[o.Str("metadata", "namespace")+"/"+o.Str("metadata", "name")]
	}
	var cols []kubeprint.Column
	for _, k := range keys {
		cols = append(cols, kubeprint.Column{Name: strings.ToUpper(k), Cell: func(o kubeprint.Object, _ time.Time) string { return of(o)[k] }})
	}
	if showLabels {
		cols = append(cols, kubeprint.Column{Name: "LABELS", Cell: func(o kubeprint.Object, _ time.Time) string {
			return kubeprint.OrNone(manifest.LabelString(of(o)))
		}})
	}
	return cols
}

var namespaceColumn = kubeprint.Column{Name: "NAMESPACE", Cell: func(o kubeprint.Object, _ time.Time) string { return o.Str("metadata", "namespace") }}

// nameAs makes a kind's NAME column print KIND.GROUP/NAME, as kubectl does when it
// prints several kinds.
func nameAs(vs []view) kubeprint.Column {
	names := map[string]string{}
	for _, v := range vs {
		names[v.namespace+"/"+v.name] = qualifiedName(v)
	}
	return kubeprint.Column{Name: "NAME", Cell: func(o kubeprint.Object, _ time.Time) string {
		return names[o.Str("metadata", "namespace")+"/"+o.Str("metadata", "name")]
	}}
}
