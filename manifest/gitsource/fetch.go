package gitsource

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// GitEnv chooses how a remote's objects are fetched into the cache: "cli" runs the git
// command line (twice as fast on a long history), "go-git" uses the library. When unset,
// kgit uses the git command line if it is on the PATH. Refs are always listed, and
// objects always read, with go-git.
const GitEnv = "KGIT_GIT"

// gitCLI returns the git command line to fetch with, or "" to fetch with go-git.
func gitCLI() string {
	switch os.Getenv(GitEnv) {
	case "go-git":
		return ""
	}
	p, err := exec.LookPath("git")
	if err != nil {
		return ""
	}
	return p
}

// fetch brings the cache up to date with the remote's branches and tags (pruning the
// ones that went). It reports whether it used the git command line, after which the
// repository must be opened again to see the new packs.
func fetch(ctx context.Context, r *git.Repository, dir string, auth transport.AuthMethod) (bool, error) {
	if bin := gitCLI(); bin != "" {
		return true, fetchCLI(ctx, bin, dir, auth)
	}
	err := r.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Tags: git.NoTags, Force: true, Prune: true, Auth: auth})
	if err == git.NoErrAlreadyUpToDate {
		err = nil
	}
	return false, err
}

// fetchCLI runs `git fetch` in the bare cache. A password or token goes to git as an
// HTTP header through the environment (GIT_CONFIG_*), never on its command line or in
// the cache's config; git never prompts.
func fetchCLI(ctx context.Context, bin, dir string, auth transport.AuthMethod) error {
	cmd := exec.CommandContext(ctx, bin, "-C", dir, "fetch", "--quiet", "--prune", "--force", "--no-tags", "origin",
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=")
	if basic, ok := auth.(*githttp.BasicAuth); ok {
		token := base64.StdEncoding.EncodeToString([]byte(basic.Username + ":" + basic.Password))
		cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader",
			"GIT_CONFIG_VALUE_0=Authorization: Basic "+token)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git fetch: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
