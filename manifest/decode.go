package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
)

// Limits that keep a hostile repository from exhausting memory.
const (
	MaxFileBytes     = 4 << 20 // one manifest file
	MaxDocuments     = 10000   // documents in one file
	MaxNestingDepth  = 64      // mapping/sequence depth of one document
	MaxNodes         = 200000  // YAML nodes of one document, aliases expanded
	maxScalarPreview = 40
)

// Object is a decoded, typed manifest object with where it came from.
type Object struct {
	File string
	Line int // line of the document's first key
	// Obj is a Resource: a modelled kind's type (*Deployment, *Service, ...) or
	// *Unstructured for every other kind.
	Obj any
	// kind is Obj's kind, when decoding found it (a custom resource's may come from a
	// CustomResourceDefinition of the same tree).
	kind *Kind
	// Raw is the document exactly as written (as JSON, keys in the order written): what
	// render prints and what a cluster is given, with fields kgit does not model.
	Raw []byte
	// lines maps a field path to the line it was written on, for errors found later.
	lines map[string]int
}

// Meta returns the object's TypeMeta and ObjectMeta.
func (o *Object) Meta() (*TypeMeta, *ObjectMeta) {
	r, ok := o.Obj.(Resource)
	if !ok {
		panic(fmt.Sprintf("manifest: unexpected object %T", o.Obj))
	}
	return r.GetTypeMeta(), r.GetObjectMeta()
}

// Kind returns the object's kind: its entry in the kinds table, or a custom resource's.
func (o *Object) Kind() *Kind {
	if o.kind == nil {
		t, _ := o.Meta()
		o.kind = KindOf(t.APIVersion, t.Kind, nil)
	}
	return o.kind
}

// Key is kind/namespace/name, the identity of an object within an app.
func (o *Object) Key() Key {
	t, m := o.Meta()
	return Key{Kind: t.Kind, Namespace: m.Namespace, Name: m.Name}
}

// LineOf returns the line a field path was written on, or the nearest enclosing field's.
func (o *Object) LineOf(path string) int {
	for p := path; p != ""; {
		if l, ok := o.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return o.Line
}

func (o *Object) errorf(path string, value any, format string, args ...any) *FieldError {
	return &FieldError{File: o.File, Line: o.LineOf(path), Path: path, Value: value, Msg: fmt.Sprintf(format, args...)}
}

// Key names an object: kind, namespace and name.
type Key struct {
	Kind, Namespace, Name string
}

func (k Key) String() string { return strings.ToLower(k.Kind) + "/" + k.Name }

// New returns a new, empty object of a kind (by its kind alone): the modelled kind's
// type, or an *Unstructured for any other kind.
func New(kind string) Resource {
	if k := kindsByName[kind]; k != nil && k.Modelled() {
		return k.New()
	}
	return &Unstructured{}
}

// Decode reads every document of one YAML or JSON file. It returns all the objects, or
// an ErrorList naming each problem with file, line and field path.
func Decode(file string, data []byte) ([]*Object, error) {
	objs, errs := decode(file, data)
	if len(errs) > 0 {
		return nil, errs
	}
	return objs, nil
}

// decode returns the objects it could decode and every error; an object with only
// unknown-field errors is returned too, so that it can still be validated.
func decode(file string, data []byte) ([]*Object, ErrorList) {
	if len(data) > MaxFileBytes {
		return nil, ErrorList{{File: file, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), MaxFileBytes)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs []*Object
	var errs ErrorList
	for n := 0; ; n++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, yamlError(file, err))
			break
		}
		if n >= MaxDocuments {
			errs = append(errs, &FieldError{File: file, Msg: fmt.Sprintf("more than %d documents", MaxDocuments)})
			break
		}
		obj, docErrs := decodeDocument(file, &doc)
		errs = append(errs, docErrs...)
		if obj != nil {
			objs = append(objs, obj)
		}
	}
	return objs, errs
}

func yamlError(file string, err error) *FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return &FieldError{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

func decodeDocument(file string, doc *yaml.Node) (*Object, ErrorList) {
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil // an empty document, e.g. a trailing ---
	}
	obj := &Object{File: file, Line: root.Line, lines: map[string]int{}}
	if budget := MaxNodes; !withinBudget(root, &budget) {
		return nil, ErrorList{obj.errorf("", nil, "the document expands to more than %d YAML nodes (too many aliases?)", MaxNodes)}
	}
	if root.Kind != yaml.MappingNode {
		return nil, ErrorList{obj.errorf("", nil, "a manifest must be a mapping with apiVersion and kind, got %s", nodeKind(root))}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		obj.lines[root.Content[i].Value] = root.Content[i].Line
	}
	apiVersion, kind := scalarField(root, "apiVersion"), scalarField(root, "kind")
	switch {
	case kind == "":
		return nil, ErrorList{obj.errorf("kind", nil, "Required value: kind is missing")}
	case apiVersion == "":
		return nil, ErrorList{obj.errorf("apiVersion", nil, "Required value: apiVersion is missing")}
	}
	k, err := kindOfDocument(obj, apiVersion, kind)
	if err != nil {
		return nil, ErrorList{err}
	}
	obj.kind = k
	var target Resource = &Unstructured{}
	shape := unstructuredShape
	if k.Modelled() {
		target = k.New()
		shape = reflect.TypeOf(target).Elem()
	}
	w := &walker{obj: obj, lenient: !k.Modelled()}
	w.walk(root, shape, "", 0)
	if w.shapeErr {
		return nil, w.errs
	}
	var raw bytes.Buffer
	if err := writeJSON(&raw, root); err != nil {
		return nil, ErrorList{obj.errorf("", nil, "%v", err)}
	}
	if err := json.Unmarshal(raw.Bytes(), target); err != nil {
		return nil, ErrorList{obj.errorf("", nil, "%v", err)}
	}
	obj.Obj, obj.Raw = target, raw.Bytes()
	return obj, w.errs
}

func scalarField(m *yaml.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			return m.Content[i+1].Value
		}
	}
	return ""
}

// walker checks a YAML node tree against a Go type's JSON shape: unknown fields (with a
// suggestion), wrong scalar types, and depth; it records the line of every field path.
type walker struct {
	obj  *Object
	errs ErrorList
	// shapeErr is set by errors that stop decoding (a wrong type); unknown fields do
	// not, so validation still reports everything else in the same pass.
	shapeErr bool
	// lenient: fields the type does not have are kept, not errors (a kind kgit does not
	// model: only apiVersion, kind and metadata are checked).
	lenient bool
}

var (
	rawType         = reflect.TypeOf(json.RawMessage{})
	intOrStringType = reflect.TypeOf(IntOrString{})
)

func (w *walker) fail(n *yaml.Node, path string, format string, args ...any) {
	w.shapeErr = true
	w.unknown(n, path, format, args...)
}

func (w *walker) unknown(n *yaml.Node, path string, format string, args ...any) {
	w.errs = append(w.errs, &FieldError{File: w.obj.File, Line: n.Line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string, depth int) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, seen := w.obj.lines[path]; path != "" && !seen {
		w.obj.lines[path] = n.Line
	}
	if depth > MaxNestingDepth {
		w.fail(n, path, "nested deeper than %d levels", MaxNestingDepth)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawType:
		if nodeDepth(n, depth) > MaxNestingDepth {
			w.fail(n, path, "nested deeper than %d levels", MaxNestingDepth)
		} else if !w.lenient {
			// the fields inside a field kgit does not model have lines too, so that
			// a backend's unhonoured fields match there (securityContext.sysctls)
			w.rawLines(n, path)
		}
		return
	case t == intOrStringType:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!str") {
			w.fail(n, path, "expected an integer or a string, got %s", nodeKind(n))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		w.walkStruct(n, t, path, depth)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.fail(n, path, "expected a mapping, got %s", nodeKind(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), depth+1)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(n, path, "expected a list, got %s", nodeKind(n))
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
	case reflect.String:
		w.scalar(n, path, "!!str", "a string")
	case reflect.Int32, reflect.Int64, reflect.Int:
		w.scalar(n, path, "!!int", "an integer")
	case reflect.Bool:
		w.scalar(n, path, "!!bool", "true or false")
	}
}

// rawLines records the line of every field and list item under n, a value kept as raw
// JSON (its depth and size already checked).
func (w *walker) rawLines(n *yaml.Node, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := join(path, n.Content[i].Value)
			if _, seen := w.obj.lines[p]; !seen {
				w.obj.lines[p] = n.Content[i].Line
			}
			w.rawLines(n.Content[i+1], p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if _, seen := w.obj.lines[p]; !seen {
				w.obj.lines[p] = c.Line
			}
			w.rawLines(c, p)
		}
	}
}

func (w *walker) scalar(n *yaml.Node, path, tag, want string) {
	if n.Kind != yaml.ScalarNode || n.Tag != tag {
		w.fail(n, path, "expected %s, got %s", want, nodeKind(n))
	}
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		w.fail(n, path, "expected a mapping, got %s", nodeKind(n))
		return
	}
	fields := jsonFields(t)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if seen[k.Value] {
			w.fail(k, p, "duplicate field")
			continue
		}
		seen[k.Value] = true
		w.obj.lines[p] = k.Line // a field is where its key is written
		ft, ok := fields[k.Value]
		if !ok && w.lenient {
			w.walk(v, rawType, p, depth+1)
			continue
		}
		if !ok {
			names := make([]string, 0, len(fields))
			for name := range fields {
				names = append(names, name)
			}
			sort.Strings(names)
			msg := "unknown field"
			if s := suggest(k.Value, names); s != "" {
				msg += ", did you mean " + s + "?"
			}
			w.unknown(k, p, "%s", msg)
			continue
		}
		w.walk(v, ft, p, depth+1)
	}
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps JSON names to field types, flattening inline structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	f := structFields(t)
	fieldCache.Store(t, f)
	return f
}

func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && name == "" {
			for k, v := range structFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// withinBudget counts a node tree's nodes, following aliases, and stops as soon as the
// budget is spent; it keeps alias bombs from expanding anywhere downstream.
func withinBudget(n *yaml.Node, budget *int) bool {
	*budget--
	if *budget < 0 {
		return false
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return withinBudget(n.Alias, budget)
	}
	for _, c := range n.Content {
		if !withinBudget(c, budget) {
			return false
		}
	}
	return true
}

// nodeDepth is the deepest level under n, counting from depth; it stops past the limit.
func nodeDepth(n *yaml.Node, depth int) int {
	deepest := depth
	for _, c := range n.Content {
		if deepest > MaxNestingDepth {
			break
		}
		deepest = max(deepest, nodeDepth(c, depth+1))
	}
	return deepest
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > maxScalarPreview {
		v = v[:maxScalarPreview] + "..."
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("string %q", v)
	case "!!int":
		return "integer " + v
	case "!!float":
		return "number " + v
	case "!!bool":
		return "boolean " + v
	}
	return v
}

// writeJSON writes a YAML node tree as JSON, resolving scalars by their YAML tag and
// following aliases (their expansion is bounded by MaxNodes). It is the only conversion
// between the two: the typed decode reads this JSON.
func writeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return writeJSON(b, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(b, n.Alias)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			b.Write(k)
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalar(b, n)
	}
	return nil
}

func writeScalar(b *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		out, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		b.Write(out)
	default:
		out, _ := json.Marshal(n.Value)
		b.Write(out)
	}
	return nil
}
