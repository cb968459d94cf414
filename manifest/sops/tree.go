package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The tree mirrors the one sops builds from a file, because which values are
// encrypted, their additional data and the MAC all depend on its shape: a
// document is a list of branches (YAML documents); a branch is an ordered list
// of items; comments are items of their own (in a branch as a key, in a list as
// an element), encrypted like values but left out of the MAC.

type comment struct {
	value  string
	inline bool
}

type item struct {
	key   any // string, or comment
	value any
}

// branch is an ordered mapping. Values are string, int, float64, bool,
// time.Time, nil, []any (which may hold comments), or branch.
type branch []item

type document []branch

// macOnlyEncryptedInit starts the MAC of files written with
// mac_only_encrypted, so that their MAC differs from a full one (sops'
// MACOnlyEncryptedInitialization).
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb, 0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// walker decrypts the tree in place, in sops' order, and hashes the MAC.
type walker struct {
	md  *metadata
	key []byte
	mac hash.Hash
}

// decryptTree decrypts every value the file's rules say is encrypted and
// returns the MAC computed as sops computes it (uppercase hex SHA-512).
func decryptTree(doc document, md *metadata, key []byte) (string, error) {
	w := &walker{md: md, key: key, mac: sha512.New()}
	if md.macOnlyEncrypted {
		w.mac.Write(macOnlyEncryptedInit)
	}
	for _, b := range doc {
		if err := w.branch(b, nil, nil); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%X", w.mac.Sum(nil)), nil
}

// value walks one value. path holds the mapping keys down to it (list
// elements share their list's path); comments is a stack with one frame per
// enclosing branch or list, holding the comments seen just before the current
// element.
func (w *walker) value(in any, path []string, comments [][]string) (any, error) {
	switch v := in.(type) {
	case nil:
		return nil, nil // neither encrypted nor hashed
	case branch:
		return v, w.branch(v, path, comments)
	case []any:
		return v, w.list(v, path, comments)
	case string, int, float64, bool, time.Time, comment:
		return w.leaf(v, path, comments)
	}
	return nil, fmt.Errorf("%s: unsupported value type %T", pathName(path), in)
}

func (w *walker) list(in []any, path []string, comments [][]string) error {
	comments = append(comments, nil)
	top := len(comments) - 1
	for i, v := range in {
		c, isComment := v.(comment)
		if isComment {
			comments[top] = append(comments[top], c.value)
		}
		nv, err := w.value(v, path, comments)
		if err != nil {
			return err
		}
		in[i] = nv
		if !isComment {
			comments[top] = nil
		}
	}
	return nil
}

func (w *walker) branch(in branch, path []string, comments [][]string) error {
	comments = append(comments, nil)
	top := len(comments) - 1
	for i, it := range in {
		if c, ok := it.key.(comment); ok {
			comments[top] = append(comments[top], c.value)
			nv, err := w.value(c, path, comments)
			if err != nil {
				return err
			}
			in[i].key = nv
			continue
		}
		c, valueIsComment := it.value.(comment)
		if valueIsComment {
			comments[top] = append(comments[top], c.value)
		}
		k, ok := it.key.(string)
		if !ok {
			return fmt.Errorf("%s: non-string key (type %T); only string keys are supported", pathName(path), it.key)
		}
		sub := append(path[:len(path):len(path)], k)
		nv, err := w.value(it.value, sub, comments)
		if err != nil {
			return err
		}
		in[i].value = nv
		if !valueIsComment {
			comments[top] = nil
		}
	}
	return nil
}

func (w *walker) leaf(in any, path []string, comments [][]string) (any, error) {
	c, isComment := in.(comment)
	encrypted := w.md.shouldBeEncrypted(path, comments, isComment)
	out := in
	if encrypted {
		ad := strings.Join(path, ":") + ":"
		switch {
		case isComment:
			v, err := decryptValue(c.value, w.key, ad)
			switch pv := v.(type) {
			case string:
				out = comment{value: pv, inline: c.inline}
			case comment:
				out = comment{value: pv.value, inline: c.inline}
			}
			// A comment that does not decrypt was not encrypted (older
			// sops versions left comments plain): sops keeps it as it is.
			_ = err
		default:
			s, ok := in.(string)
			if !ok {
				return nil, fmt.Errorf("%s: expected an encrypted value (ENC[...]), found a %s", pathName(path), typeName(in))
			}
			v, err := decryptValue(s, w.key, ad)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pathName(path), err)
			}
			out = v
		}
	}
	if (!w.md.macOnlyEncrypted || encrypted) && !isComment {
		b, err := macBytes(out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pathName(path), err)
		}
		w.mac.Write(b)
	}
	return out, nil
}

// shouldBeEncrypted applies the file's one encryption rule to a value's path
// and the comments above it, exactly as sops does.
func (md *metadata) shouldBeEncrypted(path []string, comments [][]string, isComment bool) bool {
	encrypted := true
	anyKey := func(match func(string) bool) bool {
		for _, k := range path {
			if match(k) {
				return true
			}
		}
		return false
	}
	if md.unencryptedSuffix != "" && anyKey(func(k string) bool { return strings.HasSuffix(k, md.unencryptedSuffix) }) {
		encrypted = false
	}
	if md.encryptedSuffix != "" {
		encrypted = anyKey(func(k string) bool { return strings.HasSuffix(k, md.encryptedSuffix) })
	}
	if md.unencryptedRegex != nil && anyKey(md.unencryptedRegex.MatchString) {
		encrypted = false
	}
	if md.encryptedRegex != nil {
		encrypted = anyKey(md.encryptedRegex.MatchString)
	}
	if md.unencryptedCommentRegex != nil {
		for _, frame := range comments {
			for _, c := range frame {
				if md.unencryptedCommentRegex.MatchString(c) {
					encrypted = false
				}
			}
		}
	}
	if md.encryptedCommentRegex != nil {
		encrypted = false
		last := len(comments) - 1
		for i, frame := range comments {
			for j, c := range frame {
				// The comment line that matches is itself left plain: skip
				// the comment being decided on (the last one pushed).
				if isComment && i == last && j == len(comments[last])-1 {
					continue
				}
				if md.encryptedCommentRegex.MatchString(c) {
					encrypted = true
				}
			}
		}
	}
	return encrypted
}

// encRE is sops' value format. Like sops, it is anchored at the start only.
var encRE = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

var errNotEncrypted = errors.New("value is not in sops' ENC[AES256_GCM,...] format")

// decryptValue decrypts one ENC[...] string with additional data ad and
// returns it typed by its `type:` field. An empty string stays empty (sops
// does not encrypt empty values).
func decryptValue(s string, key []byte, ad string) (any, error) {
	if s == "" {
		return "", nil
	}
	m := encRE.FindStringSubmatch(s)
	if m == nil {
		return nil, errNotEncrypted
	}
	var parts [3][]byte
	for i := range parts {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return nil, errors.New("malformed ENC[...] value (base64)")
		}
		parts[i] = b
	}
	data, iv, tag := parts[0], parts[1], parts[2]
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errors.New("bad data key")
	}
	if len(iv) == 0 || len(tag) != 16 {
		return nil, errors.New("malformed ENC[...] value (iv or tag)")
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, errors.New("malformed ENC[...] value (iv)")
	}
	plain, err := gcm.Open(nil, iv, append(data[:len(data):len(data)], tag...), []byte(ad))
	if err != nil {
		return nil, errors.New("value does not decrypt with the data key (tampered, or moved to another key)")
	}
	str := string(plain)
	switch t := m[4]; t {
	case "str":
		return str, nil
	case "bytes":
		return str, nil
	case "int":
		v, err := strconv.Atoi(str)
		if err != nil {
			return nil, errors.New("encrypted int does not parse")
		}
		return v, nil
	case "float":
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, errors.New("encrypted float does not parse")
		}
		return v, nil
	case "bool":
		v, err := strconv.ParseBool(str)
		if err != nil {
			return nil, errors.New("encrypted bool does not parse")
		}
		return v, nil
	case "time":
		var v time.Time
		if err := v.UnmarshalText(plain); err != nil {
			return nil, errors.New("encrypted time does not parse")
		}
		return v, nil
	case "comment":
		return comment{value: str}, nil
	default:
		return nil, fmt.Errorf("unknown encrypted value type %q", t)
	}
}

// macBytes is how sops feeds a plain value to the MAC.
func macBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case int:
		return []byte(strconv.Itoa(v)), nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case bool:
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case time.Time:
		return v.MarshalText()
	case comment:
		// A list element that decrypts to a comment (sops writes encrypted
		// inline comments of list items that way) is hashed by its text.
		return []byte(v.value), nil
	}
	return nil, fmt.Errorf("cannot hash a %s", typeName(v))
}

func pathName(path []string) string {
	if len(path) == 0 {
		return "(top level)"
	}
	return strings.Join(path, ".")
}

func typeName(v any) string {
	switch v.(type) {
	case int:
		return "number"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case branch:
		return "mapping"
	case []any:
		return "list"
	case time.Time:
		return "timestamp"
	}
	return fmt.Sprintf("%T", v)
}
