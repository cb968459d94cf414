package manifest

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Resource is an object kgit holds: a modelled kind's type (*Deployment, *Service, ...)
// or *Unstructured. Every one embeds TypeMeta and ObjectMeta, whose methods these are.
type Resource interface {
	GetTypeMeta() *TypeMeta
	GetObjectMeta() *ObjectMeta
}

// GetTypeMeta returns t itself; embedded, it makes an object a Resource.
func (t *TypeMeta) GetTypeMeta() *TypeMeta { return t }

// GetObjectMeta returns m itself; embedded, it makes an object a Resource.
func (m *ObjectMeta) GetObjectMeta() *ObjectMeta { return m }

// Kind describes one kind: how Kubernetes names it and, for the kinds kgit models, how
// it is made, defaulted and validated and where its pods' template is. Each modelled
// kind registers one from its own file (deployment.go, service.go, ...); the kinds kgit
// keeps as records (*Unstructured) are in wellknown.go, and a custom resource's is
// derived from its apiVersion and kind (or from a CustomResourceDefinition).
type Kind struct {
	Kind       string   // as written in manifests: Deployment
	Group      string   // API group, "" for the core group
	Versions   []string // served versions, the preferred first
	Plural     string   // the resource: deployments
	ShortNames []string // as kubectl spells them: deploy
	Namespaced bool

	// New returns a new, empty object of the kind; nil for kinds kept as *Unstructured.
	New func() Resource

	defaults func(Resource)
	validate func(*validator, Resource)
	// pod returns the metadata and spec of the object's pods, and the path of that spec
	// in the object ("spec.template.spec."); nil for kinds without pods.
	pod func(Resource) (*ObjectMeta, *PodSpec, string)
	// references checks what the object names in other objects of the manifests (by
	// key); nil for kinds that name none.
	references func(v *validator, r Resource, objs map[Key]*Object)
	// unhonoured are fields (object-relative, list indices as []) that no backend honours.
	unhonoured []string
	// warn returns warnings about values of the object the backend serves otherwise.
	warn func(o *Object, backend string) []Warning
	// pathSegmentNames: names are path segments (RBAC), not DNS subdomains.
	pathSegmentNames bool
}

// Modelled reports whether kgit models the kind (decodes it into its own type, runs
// it); the others are kept as records.
func (k *Kind) Modelled() bool { return k.New != nil }

func (k *Kind) warnings(o *Object, backend string) []Warning {
	if k.warn == nil {
		return nil
	}
	return k.warn(o, backend)
}

// APIVersion is the kind's preferred apiVersion: apps/v1, v1.
func (k *Kind) APIVersion() string { return groupVersion(k.Group, k.Versions[0]) }

// Resource is the plural qualified by the group, as kubectl names the type of an
// object: deployments.apps, services.
func (k *Kind) Resource() string {
	if k.Group == "" {
		return k.Plural
	}
	return k.Plural + "." + k.Group
}

// ObjectName is how kubectl names an object of the kind: deployment.apps/web, pod/web.
func (k *Kind) ObjectName(name string) string {
	s := strings.ToLower(k.Kind)
	if k.Group != "" {
		s += "." + k.Group
	}
	return s + "/" + name
}

// names are what kubectl accepts for the kind: the kind, its plural and short names,
// lower case, each also qualified by the group.
func (k *Kind) names() []string {
	base := append([]string{strings.ToLower(k.Kind), k.Plural}, k.ShortNames...)
	out := base
	if k.Group != "" {
		for _, n := range base {
			out = append(out, n+"."+k.Group)
		}
	}
	return out
}

func groupVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}

// splitAPIVersion splits apps/v1 into apps and v1, and v1 into "" and v1.
func splitAPIVersion(apiVersion string) (group, version string) {
	if g, v, ok := strings.Cut(apiVersion, "/"); ok {
		return g, v
	}
	return "", apiVersion
}

var (
	kindsByName  = map[string]*Kind{} // by Kind, for the kinds in the tables
	kindsByAlias = map[string]*Kind{} // by every name of kinds()
)

// register adds a kind to the table; each kind's file calls it from init.
func register(k *Kind) {
	if kindsByName[k.Kind] != nil {
		panic("manifest: kind registered twice: " + k.Kind)
	}
	kindsByName[k.Kind] = k
	for _, n := range k.names() {
		kindsByAlias[n] = k
	}
}

// LookupKind finds a kind of the tables by any name kubectl accepts for it: Deployment,
// deployment, deployments, deploy, deployment.apps, deploy.apps (case-insensitive).
func LookupKind(name string) (*Kind, bool) {
	if k, ok := kindsByName[name]; ok {
		return k, true
	}
	k, ok := kindsByAlias[strings.ToLower(name)]
	return k, ok
}

// Kinds returns every kind of the tables, modelled first, each part sorted by kind.
func Kinds() []*Kind {
	out := make([]*Kind, 0, len(kindsByName))
	for _, k := range kindsByName {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Modelled() != out[j].Modelled() {
			return out[i].Modelled()
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// KindOf returns the kind of an object of that apiVersion and kind: a kind of the tables
// when its group matches, else a custom resource's (namespaced, with kubectl's guess of
// its plural) unless crds (from CustomResourceDefinitions) name it.
func KindOf(apiVersion, kind string, crds []*Kind) *Kind {
	group, version := splitAPIVersion(apiVersion)
	if k := kindsByName[kind]; k != nil && k.Group == group {
		return k
	}
	for _, k := range crds {
		if k.Kind == kind && k.Group == group {
			return k
		}
	}
	return &Kind{Kind: kind, Group: group, Versions: []string{version}, Plural: GuessPlural(kind), Namespaced: true}
}

// GuessPlural is kubectl's guess of a kind's resource when discovery does not name it
// (meta.UnsafeGuessKindToResource): lower case, then -s, -es after s, -ies for -y
// (Gateway: gatewaies, as kubectl guesses it).
func GuessPlural(kind string) string {
	s := strings.ToLower(kind)
	switch {
	case s == "" || strings.HasSuffix(s, "endpoints"):
		return s
	case strings.HasSuffix(s, "s"):
		return s + "es"
	case strings.HasSuffix(s, "y"):
		return strings.TrimSuffix(s, "y") + "ies"
	}
	return s + "s"
}

// SupportedKinds names the modelled kinds, for messages: ConfigMap, DaemonSet, ...
func SupportedKinds() string {
	var names []string
	for _, k := range Kinds() {
		if k.Modelled() {
			names = append(names, k.Kind)
		}
	}
	return strings.Join(names, ", ")
}

// kindOfObject is the kind of a decoded object: its table entry, or a custom
// resource's.
func kindOfObject(r Resource) *Kind {
	t := r.GetTypeMeta()
	return KindOf(t.APIVersion, t.Kind, nil)
}

var dns1035Label = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// kindOfDocument returns the kind of a document written with that apiVersion and kind.
// A malformed apiVersion is an error, and so is a modelled kind under another version
// or built-in group (Deployment in v1): a group of one's own (example.com) makes it a
// custom resource.
func kindOfDocument(obj *Object, apiVersion, kind string) (*Kind, *FieldError) {
	group, version := splitAPIVersion(apiVersion)
	if strings.Count(apiVersion, "/") > 1 || strings.HasPrefix(apiVersion, "/") || !dns1035Label.MatchString(version) || group != "" && !dns1123Subdomain.MatchString(group) {
		return nil, obj.errorf("apiVersion", apiVersion, "must be VERSION or GROUP/VERSION, e.g. v1 or apps/v1")
	}
	k := KindOf(apiVersion, kind, nil)
	m := kindsByName[kind]
	if m == nil || !m.Modelled() {
		return k, nil
	}
	builtin := group == "" || !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io")
	if k == m && slices.Contains(m.Versions, version) || k != m && !builtin {
		return k, nil
	}
	want := make([]string, len(m.Versions))
	for i, v := range m.Versions {
		want[i] = groupVersion(m.Group, v)
	}
	return nil, obj.errorf("apiVersion", apiVersion, "kind %s has apiVersion %s", kind, strings.Join(want, " or "))
}
