package sops

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// metadata is what Decrypt needs of a file's `sops` entry.
type metadata struct {
	lastModified string // as sops formats it: RFC 3339, re-formatted after parsing
	mac          string

	ageRecipients []string
	ageEncKeys    []string
	otherKeyTypes []string // pgp, kms, ... present in the file
	keyGroups     int

	unencryptedSuffix, encryptedSuffix string
	unencryptedRegex, encryptedRegex   *regexp.Regexp
	unencryptedCommentRegex            *regexp.Regexp
	encryptedCommentRegex              *regexp.Regexp
	macOnlyEncrypted                   bool
}

// keyTypes are the master key lists sops writes, by their metadata names.
var keyTypes = []string{"age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"}

// extractMetadata removes the `sops` entry from every document, as sops does,
// and reads it from the first one.
func extractMetadata(doc document) (*metadata, error) {
	var meta branch
	found := false
	for bi, b := range doc {
		kept := b[:0]
		for _, it := range b {
			if it.key == "sops" {
				if bi == 0 {
					if found {
						return nil, errors.New("duplicate sops entry")
					}
					found = true
					m, ok := it.value.(branch)
					if !ok {
						return nil, errors.New("the sops entry is not a mapping")
					}
					meta = m
				}
				continue
			}
			kept = append(kept, it)
		}
		doc[bi] = kept
	}
	if !found {
		return nil, errors.New("no sops metadata (top-level sops entry) found")
	}
	m := toGo(meta).(map[string]any)
	md := &metadata{}
	var err error
	if md.mac, err = metaString(m, "mac"); err != nil {
		return nil, err
	}
	if md.mac == "" {
		return nil, errors.New("sops metadata has no mac")
	}
	lm, err := metaString(m, "lastmodified")
	if err != nil {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339, lm)
	if err != nil {
		return nil, errors.New("sops.lastmodified is not an RFC 3339 time")
	}
	md.lastModified = t.Format(time.RFC3339)

	rules := 0
	for _, r := range []struct {
		name string
		s    *string
		re   **regexp.Regexp
	}{
		{"unencrypted_suffix", &md.unencryptedSuffix, nil},
		{"encrypted_suffix", &md.encryptedSuffix, nil},
		{"unencrypted_regex", nil, &md.unencryptedRegex},
		{"encrypted_regex", nil, &md.encryptedRegex},
		{"unencrypted_comment_regex", nil, &md.unencryptedCommentRegex},
		{"encrypted_comment_regex", nil, &md.encryptedCommentRegex},
	} {
		v, err := metaString(m, r.name)
		if err != nil {
			return nil, err
		}
		if v == "" {
			continue
		}
		rules++
		if r.s != nil {
			*r.s = v
			continue
		}
		re, err := regexp.Compile(v)
		if err != nil {
			return nil, fmt.Errorf("sops.%s does not compile: %v", r.name, err)
		}
		*r.re = re
	}
	if rules > 1 {
		return nil, errors.New("more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex")
	}
	if rules == 0 {
		md.unencryptedSuffix = "_unencrypted" // sops' default
	}
	if v, ok := m["mac_only_encrypted"]; ok {
		switch v := v.(type) {
		case bool:
			md.macOnlyEncrypted = v
		case string:
			md.macOnlyEncrypted, err = strconv.ParseBool(v)
			if err != nil {
				return nil, errors.New("sops.mac_only_encrypted is not a boolean")
			}
		case nil:
		default:
			return nil, errors.New("sops.mac_only_encrypted is not a boolean")
		}
	}

	// Master keys: either lists at the top of the metadata (one key group)
	// or key_groups.
	groups := []map[string]any{m}
	if kg, ok := m["key_groups"].([]any); ok && len(kg) > 0 && !hasAnyKey(m) {
		groups = nil
		for _, g := range kg {
			gm, ok := g.(map[string]any)
			if !ok {
				return nil, errors.New("sops.key_groups holds a non-mapping")
			}
			groups = append(groups, gm)
		}
	}
	md.keyGroups = len(groups)
	other := map[string]bool{}
	for _, g := range groups {
		for _, kt := range keyTypes {
			list, _ := g[kt].([]any)
			for _, k := range list {
				km, ok := k.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("sops.%s holds a non-mapping", kt)
				}
				if kt != "age" {
					other[kt] = true
					continue
				}
				rcp, _ := metaString(km, "recipient")
				enc, err := metaString(km, "enc")
				if err != nil || enc == "" {
					return nil, errors.New("sops.age entry without enc")
				}
				md.ageRecipients = append(md.ageRecipients, rcp)
				md.ageEncKeys = append(md.ageEncKeys, enc)
			}
		}
	}
	for kt := range other {
		md.otherKeyTypes = append(md.otherKeyTypes, kt)
	}
	sort.Strings(md.otherKeyTypes)
	if len(md.ageEncKeys) == 0 && len(md.otherKeyTypes) == 0 {
		return nil, errors.New("sops metadata lists no keys")
	}
	return md, nil
}

func hasAnyKey(m map[string]any) bool {
	for _, kt := range keyTypes {
		if l, ok := m[kt].([]any); ok && len(l) > 0 {
			return true
		}
	}
	return false
}

// metaString reads a metadata field that sops reads as a string (weakly
// typed: numbers and booleans are turned into their text).
func metaString(m map[string]any, k string) (string, error) {
	switch v := m[k].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	}
	return "", fmt.Errorf("sops.%s is not a string", k)
}

// toGo turns a tree value into plain Go maps and slices, dropping comments.
func toGo(v any) any {
	switch v := v.(type) {
	case branch:
		m := make(map[string]any, len(v))
		for _, it := range v {
			if k, ok := it.key.(string); ok {
				m[k] = toGo(it.value)
			}
		}
		return m
	case []any:
		var l []any
		for _, e := range v {
			if _, ok := e.(comment); !ok {
				l = append(l, toGo(e))
			}
		}
		return l
	}
	return v
}

func (md *metadata) describeKeys() string {
	var parts []string
	if len(md.ageRecipients) > 0 {
		parts = append(parts, "age recipients "+strings.Join(md.ageRecipients, ", "))
	}
	if len(md.otherKeyTypes) > 0 {
		parts = append(parts, "other key types: "+strings.Join(md.otherKeyTypes, ", "))
	}
	return strings.Join(parts, "; ")
}
