package docker

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/moby/moby/api/types/registry"
)

// TestPullAuth: a pull secret's credentials go with a pull from their registry (Docker
// Hub under any of its names, a registry with a port), not with a pull from another.
func TestPullAuth(t *testing.T) {
	hub := `{"auths":{"https://index.docker.io/v1/":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("hubuser:hubpass")) + `"}}}`
	private := `{"auths":{"registry.example.com:5000":{"username":"me","password":"secret"}}}`
	legacy := `{"old.example.com":{"username":"old","password":"pw"}}`
	for _, tc := range []struct {
		image, user, pass string
	}{
		{"nginx:1.27", "hubuser", "hubpass"},
		{"docker.io/library/nginx", "hubuser", "hubpass"},
		{"registry.example.com:5000/team/app:v1", "me", "secret"},
		{"old.example.com/app", "old", "pw"},
		{"ghcr.io/other/app", "", ""},
		{"localhost:5000/app", "", ""},
	} {
		got := pullAuth(tc.image, []string{hub, private, legacy})
		if tc.user == "" {
			if got != "" {
				t.Errorf("%s: credentials %q for another registry", tc.image, got)
			}
			continue
		}
		raw, err := base64.URLEncoding.DecodeString(got)
		var a registry.AuthConfig
		if err == nil {
			err = json.Unmarshal(raw, &a)
		}
		if err != nil || a.Username != tc.user || a.Password != tc.pass {
			t.Errorf("%s: auth %q (%v), want %s:%s", tc.image, raw, err, tc.user, tc.pass)
		}
	}
}
