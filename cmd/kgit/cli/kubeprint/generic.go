package kubeprint

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"
)

// describeFields prints an object of a kind without a printer of its own as kubectl
// describes a custom resource: API Version, Kind, then each field, nested.
func describeFields(w io.Writer, o Object, _ []Object, _ time.Time) {
	field(w, "API Version", o.Str("apiVersion"))
	field(w, "Kind", o.Str("kind"))
	for _, k := range sortedKeys(o) {
		switch k {
		case "apiVersion", "kind", "metadata":
			continue
		}
		printValue(w, k, o[k], 0)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// printValue prints one field: a scalar on its line, a map or list below it, indented
// two spaces a level, as kubectl's describe prints unstructured content.
func printValue(w io.Writer, key string, v any, level int) {
	indent := strings.Repeat("  ", level)
	switch x := v.(type) {
	case map[string]any:
		fmt.Fprintf(w, "%s%s:\n", indent, label(key))
		for _, k := range sortedKeys(x) {
			printValue(w, k, x[k], level+1)
		}
	case []any:
		fmt.Fprintf(w, "%s%s:\n", indent, label(key))
		for _, item := range x {
			if m, ok := item.(map[string]any); ok {
				for i, k := range sortedKeys(m) {
					prefix := "  "
					if i == 0 {
						prefix = "- "
					}
					fmt.Fprint(w, indent+"  "+prefix)
					printValue(w, k, m[k], 0)
				}
				continue
			}
			fmt.Fprintf(w, "%s  %v\n", indent, item)
		}
	default:
		if v == nil {
			v = ""
		}
		fmt.Fprintf(w, "%s%s:%s%v\n", indent, label(key), strings.Repeat(" ", max(1, 22-len(indent)-len(label(key)))), v)
	}
}

// label is kubectl's label for a field: podSelector is Pod Selector.
func label(key string) string {
	var b strings.Builder
	for i, r := range key {
		if i == 0 {
			r = unicode.ToUpper(r)
		} else if unicode.IsUpper(r) && !unicode.IsUpper(rune(key[i-1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
