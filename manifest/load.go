package manifest

import (
	"fmt"

	"kgit.dev/kgit/internal/parallel"
)

// Parse decodes, defaults and validates every file. Either all objects are valid and
// returned, or an ErrorList names every problem: a sync never applies half a tree. Files
// are decoded in parallel (each on its own); the result is in the files' order.
func Parse(files []File) ([]*Object, error) {
	type result struct {
		objs []*Object
		errs ErrorList
	}
	results, _ := parallel.Map(len(files), func(i int) (result, error) {
		objs, errs := parseFile(files[i])
		return result{objs, errs}, nil
	})
	var all, objs []*Object
	var errs ErrorList
	for _, r := range results {
		errs = append(errs, r.errs...)
		all = append(all, r.objs...)
	}
	scopeCustomResources(all)
	seen := map[Key]*Object{}
	for _, o := range all {
		k := o.Key()
		if prev, dup := seen[k]; dup {
			errs = append(errs, o.errorf("metadata.name", k.Name, "Duplicate value: %s %s/%s is also defined at %s:%d", k.Kind, k.Namespace, k.Name, prev.File, prev.Line))
			continue
		}
		seen[k] = o
		objs = append(objs, o)
	}
	if len(errs) == 0 {
		errs = stampConfig(objs)
	}
	if len(errs) == 0 {
		errs = checkReferences(objs, seen)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return objs, nil
}

// parseFile decodes, defaults and validates one file; it returns the valid objects and
// every problem.
func parseFile(f File) ([]*Object, ErrorList) {
	decoded, decodeErrs := decode(f.Path, f.Data)
	errs := decodeErrs
	var objs []*Object
	for _, o := range decoded {
		Default(o)
		if verrs := Validate(o); len(verrs) > 0 || len(decodeErrs) > 0 {
			errs = append(errs, verrs...)
			continue
		}
		objs = append(objs, o)
	}
	return objs, errs
}

// String names an object for messages: deployment/web (web.yaml:3).
func (o *Object) String() string {
	return fmt.Sprintf("%s (%s:%d)", o.Key(), o.File, o.Line)
}

// File is one manifest file, as read from a commit.
type File struct {
	Path string // path relative to the repository root
	Data []byte
}

// checkReferences checks what objects name in other objects (an autoscaler's target,
// the claims pods mount).
func checkReferences(objs []*Object, byKey map[Key]*Object) ErrorList {
	var errs ErrorList
	for _, o := range objs {
		if k := o.Kind(); k.references != nil {
			v := &validator{obj: o}
			k.references(v, o.Obj.(Resource), byKey)
			errs = append(errs, v.errs...)
		}
		errs = append(errs, claimReferences(o, byKey)...)
	}
	return errs
}
