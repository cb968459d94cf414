package reconcile

import (
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
func Diff(st *State, desired []*manifest.Object, prune bool) ([]ObjectDiff, error) {
	var out []ObjectDiff
	want := map[manifest.Key]bool{}
	for _, o := range desired {
		k := o.Key()
		want[k] = true
		if a := st.Applied[k]; a != nil && sameObject(a.record.Data, o.Obj) {
			continue // unchanged: no need to render it
		}
		var live any
		if a := st.Applied[k]; a != nil {
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
		for _, a := range sortedApplied(st) {
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
	ls, lok := live.(*manifest.Secret)
	ds, dok := desired.(*manifest.Secret)
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
