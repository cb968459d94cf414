package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	dmp "github.com/sergi/go-diff/diffmatchpatch"
	"sigs.k8s.io/yaml"

	"kgit.dev/kgit/manifest"
)

// ObjectDiff is the difference between one live object and its desired version.
type ObjectDiff struct {
	Name    string // deployment.apps/web
	Action  string // create, update or delete
	Unified string // a unified diff of the YAML, live to desired
}

// Diff compares the applied objects of an app with the desired ones; with prune,
// objects that left git are deletions.
func Diff(live Live, desired []*manifest.Object, prune bool) ([]ObjectDiff, error) {
	var out []ObjectDiff
	applied := live.Applied()
	want := map[manifest.Key]bool{}
	for _, o := range desired {
		k := o.Key()
		want[k] = true
		if a := applied[k]; a != nil && sameObject(a.Data, o.Obj) {
			continue // unchanged: no need to render it
		}
		var live any
		if a := applied[k]; a != nil {
			live = a.Object
		}
		liveShown, desiredShown := masked(live, o.Obj)
		desiredYAML, err := yaml.Marshal(desiredShown)
		if err != nil {
			return nil, err
		}
		liveYAML, action := []byte(nil), "create"
		if live != nil {
			if liveYAML, err = yaml.Marshal(liveShown); err != nil {
				return nil, err
			}
			action = "update"
		}
		if string(liveYAML) != string(desiredYAML) {
			out = append(out, objectDiff(k, action, string(liveYAML), string(desiredYAML)))
		}
	}
	if prune {
		for _, a := range SortedApplied(applied) {
			if !want[a.Key] {
				liveShown, _ := masked(a.Object, nil)
				liveYAML, err := yaml.Marshal(liveShown)
				if err != nil {
					return nil, err
				}
				out = append(out, objectDiff(a.Key, "delete", string(liveYAML), ""))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// masked returns what a diff shows of two versions of an object: Secrets with every
// value replaced by a placeholder that says only whether it changed.
func masked(live, desired any) (any, any) {
	ls, lok := asSecret(live)
	ds, dok := asSecret(desired)
	if !lok && !dok {
		return live, desired
	}
	lv, dv := secretValues(ls), secretValues(ds)
	mask := func(s *manifest.Secret, own, other map[string]string, isDesired bool) any {
		if s == nil {
			return nil
		}
		c := *s
		c.Data, c.StringData = map[string]string{}, nil
		for k, v := range own {
			switch o, ok := other[k]; {
			case !isDesired || ok && o == v:
				c.Data[k] = "(secret value)"
			case !ok:
				c.Data[k] = "(secret value, added)"
			default:
				c.Data[k] = "(secret value, changed)"
			}
		}
		return &c
	}
	var lshown, dshown any
	if lok {
		lshown = mask(ls, lv, dv, false)
	} else {
		lshown = live
	}
	if dok {
		dshown = mask(ds, dv, lv, true)
	} else {
		dshown = desired
	}
	return lshown, dshown
}

// secretValues decodes a Secret's data and stringData.
func secretValues(s *manifest.Secret) map[string]string {
	if s == nil {
		return nil
	}
	cs := manifest.NewConfigSources([]any{s})
	r, _ := cs.Resolve(s.Namespace, &manifest.Container{EnvFrom: []manifest.EnvFromSource{{SecretRef: &manifest.SourceRef{Name: s.Name}}}})
	out := map[string]string{}
	for _, e := range r.From {
		out[e.Name] = e.Value
	}
	return out
}

func objectDiff(k manifest.Key, action, live, desired string) ObjectDiff {
	name := ObjectName(k)
	from, to := "live/"+name, "desired/"+name
	if action == "create" {
		from = "/dev/null"
	}
	if action == "delete" {
		to = "/dev/null"
	}
	return ObjectDiff{Name: name, Action: action, Unified: Unified(from, to, live, desired, 3)}
}

type diffLine struct {
	op   dmp.Operation
	text string
}

// Unified renders a unified diff (diff -u) of a and b with n lines of context, over
// sergi/go-diff's line mode with no time limit, so output never depends on load.
func Unified(fromName, toName, a, b string, n int) string {
	if a == b {
		return ""
	}
	d := dmp.New()
	d.DiffTimeout = 0
	ra, rb, lines := d.DiffLinesToRunes(a, b)
	var ls []diffLine
	for _, df := range d.DiffCharsToLines(d.DiffMainRunes(ra, rb, false), lines) {
		for _, l := range strings.SplitAfter(df.Text, "\n") {
			if l != "" {
				ls = append(ls, diffLine{df.Type, l})
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", fromName, toName)
	// line numbers (1-based) of each diff line in a and in b
	ai, bi := make([]int, len(ls)+1), make([]int, len(ls)+1)
	x, y := 1, 1
	for i, l := range ls {
		ai[i], bi[i] = x, y
		if l.op != dmp.DiffInsert {
			x++
		}
		if l.op != dmp.DiffDelete {
			y++
		}
	}
	for i := 0; i < len(ls); {
		if ls[i].op == dmp.DiffEqual {
			i++
			continue
		}
		start, end := max(i-n, 0), i
		for j := i; j < len(ls); j++ {
			if ls[j].op != dmp.DiffEqual {
				end = j
			} else if j-end > 2*n {
				break
			}
		}
		stop := min(end+n+1, len(ls))
		na, nb := 0, 0
		for _, l := range ls[start:stop] {
			if l.op != dmp.DiffInsert {
				na++
			}
			if l.op != dmp.DiffDelete {
				nb++
			}
		}
		sa, sb2 := ai[start], bi[start]
		if na == 0 {
			sa--
		}
		if nb == 0 {
			sb2--
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(sa, na), hunkRange(sb2, nb))
		for _, l := range ls[start:stop] {
			sb.WriteString(map[dmp.Operation]string{dmp.DiffEqual: " ", dmp.DiffDelete: "-", dmp.DiffInsert: "+"}[l.op])
			sb.WriteString(l.text)
			if !strings.HasSuffix(l.text, "\n") {
				sb.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = stop
	}
	return sb.String()
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

// sameObject reports whether obj is what a record holds.
func sameObject(recorded []byte, obj any) bool {
	j, _ := json.Marshal(obj)
	return string(j) == string(recorded)
}

// asSecret returns a sensitive object as a Secret (a ConfigMap from an encrypted file
// is masked as one).
func asSecret(obj any) (*manifest.Secret, bool) {
	switch v := obj.(type) {
	case *manifest.Secret:
		return v, true
	case *manifest.ConfigMap:
		if !manifest.Sensitive(v) {
			return nil, false
		}
		s := &manifest.Secret{TypeMeta: v.TypeMeta, ObjectMeta: v.ObjectMeta, StringData: v.Data}
		for k, b := range v.BinaryData {
			if s.StringData == nil {
				s.StringData = map[string]string{}
			}
			s.StringData[k] = b
		}
		return s, true
	}
	return nil, false
}

// Previewer is implemented by targets that say themselves what applying an object would
// change (a cluster's server-side dry run: its defaults never show as differences).
type Previewer interface {
	// Preview is the live object (nil when it does not exist) and what it would be after
	// the apply, as the target would show them, Secret values masked.
	Preview(ctx context.Context, live Live, a *Applied) (before, after map[string]any, err error)
	// Removal is what pruning a live object would remove (nil when it is not live).
	Removal(live Live, a *Applied) map[string]any
}

// DiffOn is Diff on a target: through the target's own preview when it has one, else
// by comparing what kgit applied with what git holds.
func DiffOn(ctx context.Context, t Target, live Live, desired []*manifest.Object, commit string, prune bool) ([]ObjectDiff, error) {
	p, ok := t.(Previewer)
	if !ok {
		return Diff(live, desired, prune)
	}
	applied := live.Applied()
	var out []ObjectDiff
	want := map[manifest.Key]bool{}
	for _, o := range desired {
		k := o.Key()
		want[k] = true
		data, err := json.Marshal(o.Obj)
		if err != nil {
			return nil, err
		}
		if old := applied[k]; old != nil && sameJSON(old.Data, data) {
			continue // unchanged: a sync would not apply it (its commit stays)
		}
		a := &Applied{Key: k, Object: o.Obj, Commit: commit, Data: data, Raw: o.Raw}
		before, after, err := p.Preview(ctx, live, a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ObjectName(k), err)
		}
		if d, err := yamlDiff(k, before, after); err != nil || d != nil {
			if err != nil {
				return nil, err
			}
			out = append(out, *d)
		}
	}
	if prune {
		for _, a := range SortedApplied(applied) {
			if !want[a.Key] {
				if d, err := yamlDiff(a.Key, p.Removal(live, a), nil); err != nil || d != nil {
					if err != nil {
						return nil, err
					}
					out = append(out, *d)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// yamlDiff is the diff of two object maps (nil: absent), or nil when they are equal.
func yamlDiff(k manifest.Key, before, after map[string]any) (*ObjectDiff, error) {
	if before == nil && after == nil {
		return nil, nil
	}
	b, a := []byte(nil), []byte(nil)
	var err error
	if before != nil {
		if b, err = yaml.Marshal(before); err != nil {
			return nil, err
		}
	}
	if after != nil {
		if a, err = yaml.Marshal(after); err != nil {
			return nil, err
		}
	}
	if string(a) == string(b) {
		return nil, nil
	}
	action := "update"
	switch {
	case before == nil:
		action = "create"
	case after == nil:
		action = "delete"
	}
	d := objectDiff(k, action, string(b), string(a))
	return &d, nil
}
