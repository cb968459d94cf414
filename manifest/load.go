package manifest

import "fmt"

// Parse decodes, defaults and validates every file. Either all objects are valid and
// returned, or an ErrorList names every problem: a sync never applies half a tree.
func Parse(files []File) ([]*Object, error) {
	var objs []*Object
	var errs ErrorList
	seen := map[Key]*Object{}
	for _, f := range files {
		decoded, decodeErrs := decode(f.Path, f.Data)
		errs = append(errs, decodeErrs...)
		for _, o := range decoded {
			Default(o)
			if verrs := Validate(o); len(verrs) > 0 || len(decodeErrs) > 0 {
				errs = append(errs, verrs...)
				continue
			}
			k := o.Key()
			if prev, dup := seen[k]; dup {
				errs = append(errs, o.errorf("metadata.name", k.Name, "Duplicate value: %s %s/%s is also defined at %s:%d", k.Kind, k.Namespace, k.Name, prev.File, prev.Line))
				continue
			}
			seen[k] = o
			objs = append(objs, o)
		}
	}
	if len(errs) == 0 {
		errs = stampConfig(objs)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return objs, nil
}

// String names an object for messages: deployment/web (web.yaml:3).
func (o *Object) String() string {
	return fmt.Sprintf("%s (%s:%d)", o.Key(), o.File, o.Line)
}
