package sops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// parseJSON builds sops' tree from a JSON object, keeping key order. Numbers
// become int when they are integers in the int64 range, float64 otherwise, as
// sops' JSON store reads them.
func parseJSON(data []byte) (document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := jsonValue(dec)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	b, ok := v.(branch)
	if !ok {
		return nil, errors.New("the JSON document is not an object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the top-level object")
	}
	return document{b}, nil
}

func jsonValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			b := branch{}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				if seen[k] {
					return nil, fmt.Errorf("duplicate key %q", k)
				}
				seen[k] = true
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				b = append(b, item{key: k, value: v})
			}
			_, err := dec.Token() // '}'
			return b, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token() // ']'
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return int(i), nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, errors.New("number out of range")
		}
		return f, nil
	}
	return t, nil // string, bool, nil
}

// emitJSON writes the tree back as indented JSON, keys in file order.
func emitJSON(doc document) ([]byte, error) {
	if len(doc) != 1 {
		return nil, errors.New("a JSON file holds one document")
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, doc[0]); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case branch:
		buf.WriteByte('{')
		n := 0
		for _, it := range v {
			k, ok := it.key.(string)
			if !ok {
				continue // JSON has no comments
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			if err := writeJSON(buf, it.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		n := 0
		for _, e := range v {
			if _, ok := e.(comment); ok {
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			if err := writeJSON(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case float64:
		buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case time.Time:
		b, _ := v.MarshalJSON()
		buf.Write(b)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("writing JSON: cannot write a %s", typeName(v))
		}
		buf.Write(b)
	}
	return nil
}

// emitBinary returns the `data` value of sops' binary envelope.
func emitBinary(doc document) ([]byte, error) {
	for _, it := range doc[0] {
		if it.key == "data" {
			if s, ok := it.value.(string); ok {
				return []byte(s), nil
			}
			return nil, errors.New("binary file: data is not a string")
		}
	}
	return nil, errors.New("binary file: no data entry")
}
