package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseYAML builds sops' tree from a YAML stream: one branch per document,
// comments as items where sops' YAML store puts them (their place decides
// their additional data and the comment rules).
func parseYAML(data []byte) (document, error) {
	var doc document
	d := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := d.Decode(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid YAML: %v", err)
		}
		b, err := yamlBranch(&n, nil, false)
		if err != nil {
			return nil, err
		}
		doc = append(doc, b)
	}
	if len(doc) == 0 {
		return nil, errors.New("empty file")
	}
	return doc, nil
}

// commentItems turns a yaml.Node comment field into sops comments (one per
// non-empty line, without the leading '#').
func commentItems(text string, inline bool) []comment {
	var cs []comment
	for _, line := range strings.Split(text, "\n") {
		if line != "" {
			cs = append(cs, comment{value: line[1:], inline: inline})
		}
	}
	return cs
}

func appendComments(b branch, text string, inline bool) branch {
	for _, c := range commentItems(text, inline) {
		b = append(b, item{key: c})
	}
	return b
}

func appendListComments(l []any, text string, inline bool) []any {
	for _, c := range commentItems(text, inline) {
		l = append(l, c)
	}
	return l
}

func yamlBranch(n *yaml.Node, b branch, commentsHandled bool) (branch, error) {
	if !commentsHandled {
		b = appendComments(b, n.HeadComment, false)
		b = appendComments(b, n.LineComment, false)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			var err error
			if b, err = yamlBranch(c, b, false); err != nil {
				return nil, err
			}
		}
	case yaml.SequenceNode:
		return nil, errors.New("a YAML document that is a list is not supported by sops")
	case yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			b = appendComments(b, k.HeadComment, false)
			b = appendComments(b, k.LineComment, false)
			scalar := v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode
			if scalar {
				b = appendComments(b, v.HeadComment, false)
				b = appendComments(b, v.LineComment, true)
			}
			var key any
			if err := k.Decode(&key); err != nil {
				return nil, fmt.Errorf("line %d: %v", k.Line, err)
			}
			if s, ok := key.(string); ok {
				if seen[s] {
					return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, s)
				}
				seen[s] = true
			}
			val, err := yamlValue(v, scalar)
			if err != nil {
				return nil, err
			}
			b = append(b, item{key: key, value: val})
			if scalar {
				b = appendComments(b, v.FootComment, false)
			}
			b = appendComments(b, k.FootComment, false)
		}
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return b, nil // an empty document
		}
		return nil, errors.New("a YAML document that is a single value is not supported by sops")
	case yaml.AliasNode:
		return yamlBranch(n.Alias, b, false)
	}
	if !commentsHandled {
		b = appendComments(b, n.FootComment, false)
	}
	return b, nil
}

func yamlValue(n *yaml.Node, commentsHandled bool) (any, error) {
	switch n.Kind {
	case yaml.SequenceNode:
		var l []any
		if !commentsHandled {
			l = appendListComments(l, n.HeadComment, false)
			l = appendListComments(l, n.LineComment, false)
		}
		for _, e := range n.Content {
			l = appendListComments(l, e.HeadComment, false)
			l = appendListComments(l, e.LineComment, true)
			v, err := yamlValue(e, true)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			l = appendListComments(l, e.FootComment, false)
		}
		if !commentsHandled {
			l = appendListComments(l, n.FootComment, false)
		}
		return l, nil
	case yaml.MappingNode:
		return yamlBranch(n, branch{}, commentsHandled)
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
		return v, nil
	case yaml.AliasNode:
		return yamlValue(n.Alias, false)
	}
	return nil, nil
}

// emitYAML writes the tree back as YAML, documents separated by ---, with
// comments placed as sops places them.
func emitYAML(doc document) ([]byte, error) {
	var buf bytes.Buffer
	e := yaml.NewEncoder(&buf)
	e.SetIndent(2)
	for _, b := range doc {
		m := &yaml.Node{Kind: yaml.MappingNode}
		if err := yamlFromBranch(b, m); err != nil {
			return nil, err
		}
		if err := e.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{m}}); err != nil {
			return nil, fmt.Errorf("writing YAML: %v", err)
		}
	}
	if err := e.Close(); err != nil {
		return nil, fmt.Errorf("writing YAML: %v", err)
	}
	return buf.Bytes(), nil
}

func joinComments(cs []string) string {
	if len(cs) == 0 {
		return ""
	}
	return "#" + strings.Join(cs, "\n#")
}

func addComment(field *string, cs []string, head bool) {
	c := joinComments(cs)
	switch {
	case c == "":
	case *field == "":
		*field = c
	case head:
		*field = c + "\n" + *field
	default:
		*field += "\n" + c
	}
}

func yamlNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case branch:
		m := &yaml.Node{Kind: yaml.MappingNode}
		return m, yamlFromBranch(v, m)
	case []any:
		s := &yaml.Node{Kind: yaml.SequenceNode}
		return s, yamlFromList(v, s)
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return nil, fmt.Errorf("writing YAML: %v", err)
	}
	return n, nil
}

func yamlFromList(l []any, s *yaml.Node) error {
	var head, inline []string
	first := true
	for _, e := range l {
		if gatherComment(e, &head, &inline) {
			continue
		}
		if first {
			addComment(&s.HeadComment, head, true)
			head, first = nil, false
		}
		n, err := yamlNode(e)
		if err != nil {
			return err
		}
		addComment(&n.HeadComment, head, true)
		addComment(&n.LineComment, inline, false)
		head, inline = nil, nil
		s.Content = append(s.Content, n)
	}
	rest := append(head, inline...)
	if first {
		addComment(&s.HeadComment, rest, true)
	} else {
		addComment(&s.Content[len(s.Content)-1].FootComment, rest, false)
	}
	return nil
}

func yamlFromBranch(b branch, m *yaml.Node) error {
	var head, inline []string
	first := true
	for _, it := range b {
		if gatherComment(it.key, &head, &inline) {
			continue
		}
		if first {
			addComment(&m.HeadComment, head, true)
			head, first = nil, false
		}
		k := &yaml.Node{}
		if err := k.Encode(it.key); err != nil {
			return fmt.Errorf("writing YAML: %v", err)
		}
		addComment(&k.HeadComment, head, true)
		v, err := yamlNode(it.value)
		if err != nil {
			return err
		}
		addComment(&v.LineComment, inline, false)
		head, inline = nil, nil
		m.Content = append(m.Content, k, v)
	}
	rest := append(head, inline...)
	if first {
		addComment(&m.HeadComment, rest, true)
	} else {
		addComment(&m.Content[len(m.Content)-2].FootComment, rest, false)
	}
	return nil
}

// gatherComment adds x to the comments that go before (head) or beside (inline) the
// next element, and reports whether it was a comment.
func gatherComment(x any, head, inline *[]string) bool {
	c, ok := x.(comment)
	if !ok {
		return false
	}
	if c.inline {
		*inline = append(*inline, c.value)
	} else {
		*head = append(*head, c.value)
	}
	return true
}
