package manifest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Matches reports whether labels satisfy the selector (matchLabels and matchExpressions).
func (s *LabelSelector) Matches(labels map[string]string) (bool, error) {
	if s == nil {
		return false, nil
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false, nil
		}
	}
	for _, r := range s.MatchExpressions {
		val, has := labels[r.Key]
		switch r.Operator {
		case "In":
			if !has || !slices.Contains(r.Values, val) {
				return false, nil
			}
		case "NotIn":
			if has && slices.Contains(r.Values, val) {
				return false, nil
			}
		case "Exists":
			if !has {
				return false, nil
			}
		case "DoesNotExist":
			if has {
				return false, nil
			}
		default:
			return false, fmt.Errorf("unknown selector operator %q", r.Operator)
		}
	}
	return true, nil
}

// String renders the selector as kubectl does: app=web,tier in (a,b).
func (s *LabelSelector) String() string {
	if s == nil {
		return "<none>"
	}
	parts := []string{labelString(s.MatchLabels)}
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case "In", "NotIn":
			parts = append(parts, fmt.Sprintf("%s %s (%s)", r.Key, strings.ToLower(r.Operator), strings.Join(r.Values, ",")))
		case "Exists":
			parts = append(parts, r.Key)
		case "DoesNotExist":
			parts = append(parts, "!"+r.Key)
		}
	}
	if parts[0] == "" {
		parts = parts[1:]
	}
	return strings.Join(parts, ",")
}

// labelString renders labels as k=v pairs sorted by key.
func labelString(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + labels[k]
	}
	return strings.Join(keys, ",")
}

// LabelString renders labels as kubectl does, sorted: a=1,b=2.
func LabelString(labels map[string]string) string { return labelString(labels) }

// ParseSelector parses -l: comma-separated k=v, k==v, k!=v, k, !k.
func ParseSelector(s string) (*LabelSelector, error) {
	sel := &LabelSelector{MatchLabels: map[string]string{}}
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, term := range strings.Split(s, ",") {
		term = strings.TrimSpace(term)
		switch {
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			sel.MatchExpressions = append(sel.MatchExpressions, LabelSelectorRequirement{Key: strings.TrimSpace(k), Operator: "NotIn", Values: []string{strings.TrimSpace(v)}})
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(strings.Replace(term, "==", "=", 1), "=")
			sel.MatchLabels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		case strings.HasPrefix(term, "!"):
			sel.MatchExpressions = append(sel.MatchExpressions, LabelSelectorRequirement{Key: term[1:], Operator: "DoesNotExist"})
		case term != "":
			sel.MatchExpressions = append(sel.MatchExpressions, LabelSelectorRequirement{Key: term, Operator: "Exists"})
		default:
			return nil, fmt.Errorf("invalid selector %q", s)
		}
	}
	return sel, nil
}
