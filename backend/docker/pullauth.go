package docker

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/moby/moby/api/types/registry"
)

// dockerConfig is a kubernetes.io/dockerconfigjson Secret's .dockerconfigjson (the
// legacy .dockercfg is the auths map alone).
type dockerConfig struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"` // base64 of username:password
	IdentityToken string `json:"identitytoken"`
}

// pullAuth is the X-Registry-Auth header value for pulling image with the first of the
// pull secrets that has credentials for the image's registry, "" when none has.
func pullAuth(image string, secrets []string) string {
	host := registryHost(image)
	for _, s := range secrets {
		var cfg dockerConfig
		if json.Unmarshal([]byte(s), &cfg) != nil || cfg.Auths == nil {
			cfg.Auths = nil
			_ = json.Unmarshal([]byte(s), &cfg.Auths) // .dockercfg
		}
		for server, a := range cfg.Auths {
			if registryHost(server+"/x") != host {
				continue
			}
			user, pass := a.Username, a.Password
			if a.Auth != "" && user == "" {
				if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					user, pass, _ = strings.Cut(string(raw), ":")
				}
			}
			data, err := json.Marshal(registry.AuthConfig{Username: user, Password: pass, IdentityToken: a.IdentityToken, ServerAddress: server})
			if err != nil {
				return ""
			}
			return base64.URLEncoding.EncodeToString(data)
		}
	}
	return ""
}

// registryHost is the registry an image reference (or a credentials key such as
// https://index.docker.io/v1/) names, as Docker reads it: the first component when it has
// a dot or a port or is localhost, else Docker Hub.
func registryHost(ref string) string {
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, "https://"), "http://")
	first, _, found := strings.Cut(ref, "/")
	if !found || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "docker.io"
	}
	switch first {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return first
}
