package ingress

import (
	"testing"
	"time"
)

// TestMatch: the Ingress specification's precedence, and the default backends.
func TestMatch(t *testing.T) {
	b := func(name string) Backend { return Backend{Service: name, Addr: name} }
	def, other := b("default"), b("other-default")
	t0 := time.Unix(0, 0)
	tab := build([]served{
		{App: "a", Ingress: &Ingress{Namespace: "ns", Name: "one", Created: t0, Default: &def, Rules: []Rule{
			{Host: "foo.example", Path: "/", PathType: "Prefix", Backend: b("foo-root")},
			{Host: "foo.example", Path: "/api", PathType: "Prefix", Backend: b("foo-api")},
			{Host: "foo.example", Path: "/api/v1", PathType: "Exact", Backend: b("foo-api-v1-exact")},
			{Host: "foo.example", Path: "/api/v1/", PathType: "Prefix", Backend: b("foo-api-v1-prefix")},
			{Host: "*.wild.example", Path: "/", PathType: "Prefix", Backend: b("wild")},
			{Host: "", Path: "/any", PathType: "Prefix", Backend: b("any-host")},
		}}},
		{App: "b", Ingress: &Ingress{Namespace: "ns", Name: "two", Created: t0.Add(time.Second), Default: &other, Rules: []Rule{
			{Host: "foo.example", Path: "/", PathType: "Prefix", Backend: b("younger-foo-root")},
			{Host: "bar.example", Path: "/exact", PathType: "Exact", Backend: b("bar-exact")},
			{Host: "x.wild.example", Path: "/", PathType: "Prefix", Backend: b("x-wild")},
		}}},
	})
	for _, tc := range []struct{ host, path, want string }{
		{"foo.example", "/", "foo-root"},
		{"foo.example", "/other", "foo-root"},
		{"foo.example", "/api", "foo-api"},
		{"foo.example", "/api/", "foo-api"},
		{"foo.example", "/apis", "foo-root"}, // element by element: /api is no prefix of /apis
		{"foo.example", "/api/v1", "foo-api-v1-exact"},
		{"foo.example", "/api/v1/x", "foo-api-v1-prefix"},
		{"foo.example", "/any", "foo-root"},             // a rule for every host serves only hosts no rule names
		{"a.wild.example", "/", "wild"},                 // one label
		{"x.wild.example", "/", "x-wild"},               // an exact host before a wildcard
		{"a.b.wild.example", "/", "default"},            // a wildcard matches one label only
		{"wild.example", "/", "default"},                // and not none
		{"bar.example", "/exact", "bar-exact"},          //
		{"bar.example", "/exact/more", "other-default"}, // the default of the Ingress with a rule for the host
		{"nowhere.example", "/", "default"},             // else the oldest Ingress's default
		{"nowhere.example", "/any/thing", "any-host"},   //
		{"FOO.example", "/", "default"},                 // ServeHTTP lowers the host, match does not
	} {
		got := tab.match(tc.host, tc.path)
		if got == nil || got.Service != tc.want {
			t.Errorf("%s%s: %v, want %s", tc.host, tc.path, got, tc.want)
		}
	}
	if got := build(nil).match("foo.example", "/"); got != nil {
		t.Errorf("no Ingress: %v, want none (404)", got)
	}
}

// TestServed: kgit serves Ingresses of no class and of its classes, unless another
// controller's IngressClass is the default.
func TestServed(t *testing.T) {
	ing := func(name, class string) Ingress { return Ingress{Namespace: "default", Name: name, Class: class} }
	part := App{Ingresses: []Ingress{ing("none", ""), ing("kgit", "kgit"), ing("nginx", "nginx"), ing("mine", "mine")}}
	names := func(apps map[string]*App) string {
		s := ""
		for _, in := range Served(apps) {
			s += in.Name + " "
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		classes []Class
		want    string
	}{
		{"no IngressClass", nil, "kgit none "},
		{"an IngressClass of kgit's controller", []Class{{Name: "mine", Controller: "kgit.dev/ingress-controller"}}, "kgit mine none "},
		{"kgit's class is the default", []Class{{Name: "mine", Controller: "kgit.dev/ingress-controller", Default: true}}, "kgit mine none "},
		{"another controller's class is the default", []Class{{Name: "nginx", Controller: "k8s.io/ingress-nginx", Default: true}}, "kgit "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := part
			p.Classes = tc.classes
			if got := names(map[string]*App{"app": &p}); got != tc.want {
				t.Errorf("served %q, want %q", got, tc.want)
			}
		})
	}
}
