package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Resources is what kgit reads of a container's resources: CPU in millicores and memory
// in bytes, 0 where unset, as Kubernetes rounds them (up).
type Resources struct {
	LimitCPU, RequestCPU       int64 // millicores
	LimitMemory, RequestMemory int64 // bytes
}

// resourceList is v1 ResourceRequirements as written: quantities are strings or numbers.
type resourceList struct {
	Limits   map[string]json.RawMessage `json:"limits"`
	Requests map[string]json.RawMessage `json:"requests"`
	Claims   json.RawMessage            `json:"claims"`
}

// ContainerResources reads a container's resources. A request that is not written takes
// the limit, as Kubernetes defaults it. Validation has checked the quantities.
func ContainerResources(c *Container) Resources {
	var rl resourceList
	_ = json.Unmarshal(c.Resources, &rl)
	var r Resources
	get := func(m map[string]json.RawMessage, name string, milli bool) int64 {
		raw, ok := m[name]
		if !ok {
			return 0
		}
		n, _ := parseQuantity(quantityText(raw), milli)
		return n
	}
	r.LimitCPU, r.LimitMemory = get(rl.Limits, "cpu", true), get(rl.Limits, "memory", false)
	r.RequestCPU, r.RequestMemory = get(rl.Requests, "cpu", true), get(rl.Requests, "memory", false)
	if _, ok := rl.Requests["cpu"]; !ok {
		r.RequestCPU = r.LimitCPU
	}
	if _, ok := rl.Requests["memory"]; !ok {
		r.RequestMemory = r.LimitMemory
	}
	return r
}

// quantityText is a quantity as written: a JSON string's content, or a number's text.
func quantityText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// resources checks a container's resources as Kubernetes does: each quantity parses and
// is not negative, and a request is at most its limit.
func (v *validator) resources(raw json.RawMessage, path string) {
	if len(raw) == 0 {
		return
	}
	var rl resourceList
	if err := json.Unmarshal(raw, &rl); err != nil {
		v.add(path, nil, "Invalid value: %v", err)
		return
	}
	parsed := map[string]int64{}
	for _, list := range []struct {
		name string
		m    map[string]json.RawMessage
	}{{"limits", rl.Limits}, {"requests", rl.Requests}} {
		for name, q := range list.m {
			text := quantityText(q)
			n, err := parseQuantity(text, name == "cpu")
			if err != nil {
				v.add(path+"."+list.name+"."+name, text, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
				continue
			}
			if strings.HasPrefix(text, "-") && n != 0 {
				v.add(path+"."+list.name+"."+name, text, "must be greater than or equal to 0")
			}
			parsed[list.name+"."+name] = n
		}
	}
	for name := range rl.Requests {
		req, okR := parsed["requests."+name]
		lim, okL := parsed["limits."+name]
		if okR && okL && req > lim {
			v.add(path+".requests", rl.Requests[name], "must be less than or equal to %s limit of %s", name, quantityText(rl.Limits[name]))
		}
	}
}

// parseQuantity parses a Kubernetes quantity (123, 1.5, 100m, 64Mi, 1G, 1e3) and returns
// its value, or with milli its value in thousandths, rounded up as Kubernetes' Value and
// MilliValue round.
func parseQuantity(s string, milli bool) (int64, error) {
	bad := fmt.Errorf("quantity %q does not parse", s)
	num := s
	if num != "" && (num[0] == '+' || num[0] == '-') {
		num = num[1:]
	}
	end := 0
	for end < len(num) && (num[end] >= '0' && num[end] <= '9' || num[end] == '.') {
		end++
	}
	digits, suffix := num[:end], num[end:]
	intPart, frac, _ := strings.Cut(digits, ".")
	if digits == "" || digits == "." || strings.Contains(frac, ".") {
		return 0, bad
	}
	exp10 := -len(frac)
	mant := strings.TrimLeft(intPart+frac, "0")
	pow2 := 0
	switch suffix {
	case "":
	case "Ki", "Mi", "Gi", "Ti", "Pi", "Ei":
		pow2 = 10 * (strings.Index("KMGTPE", suffix[:1]) + 1)
	case "n", "u", "m", "k", "M", "G", "T", "P", "E":
		exp10 += map[string]int{"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}[suffix]
	default:
		e := suffix
		if e[0] != 'e' && e[0] != 'E' {
			return 0, bad
		}
		n, err := strconv.Atoi(e[1:])
		if err != nil {
			return 0, bad
		}
		exp10 += n
	}
	if milli {
		exp10 += 3
	}
	if mant == "" {
		return 0, nil
	}
	// value = mant × 10^exp10 × 2^pow2, rounded up; digits beyond int64 round up too.
	inexact := false
	for len(mant) > 18 && exp10 < 0 {
		inexact = inexact || mant[len(mant)-1] != '0'
		mant, exp10 = mant[:len(mant)-1], exp10+1
	}
	n, err := strconv.ParseInt(mant, 10, 64)
	if err != nil || pow2 > 0 && n > math.MaxInt64>>pow2 {
		return math.MaxInt64, nil
	}
	n <<= pow2
	if exp10 < 0 {
		if exp10 < -18 {
			return 1, nil // a positive value below 1: rounded up
		}
		den := int64(1)
		for range -exp10 {
			den *= 10
		}
		q := n / den
		if n%den != 0 || inexact {
			q++
		}
		return q, nil
	}
	for range exp10 {
		if n > math.MaxInt64/10 {
			return math.MaxInt64, nil
		}
		n *= 10
	}
	return n, nil
}
