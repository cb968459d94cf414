package gitsource

import "testing"

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{"": "", ".": "", "apps/": "apps", "./apps/../web": "web"} {
		if got, err := CleanPath(in); err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"..", "../x", "/etc", "a/../../b"} {
		if _, err := CleanPath(bad); err == nil {
			t.Errorf("CleanPath(%q) accepted a path outside the repository", bad)
		}
	}
}
