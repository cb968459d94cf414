package gitsource

import (
	"context"
	"encoding/base64"
	"io/fs"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFetchOverHTTPWithToken serves a repository with `git http-backend` behind basic
// authentication and fetches it through both fetch paths: the token reaches the server,
// the commit arrives, and the token is nowhere in the cache or in an error.
func TestFetchOverHTTPWithToken(t *testing.T) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git on the PATH")
	}
	root := t.TempDir()
	work := filepath.Join(root, "work")
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	run(work, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(work, "web.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(work, "add", ".")
	run(work, "commit", "-qm", "one")
	want := run(work, "rev-parse", "HEAD")
	run(root, "clone", "-q", "--bare", work, filepath.Join(root, "repo.git"))

	const user, token = "kgit", "s3cret-t0ken"
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "http://", "http://"+user+":"+token+"@", 1) + "/repo.git"

	for _, mode := range []string{"cli", "go-git"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv(GitEnv, mode)
			cache := t.TempDir()
			r, err := Open(context.Background(), Source{Repo: url, CacheDir: cache})
			if err != nil {
				t.Fatalf("open %s: %v", RedactURL(url), err)
			}
			c, err := r.Resolve("")
			if err != nil || c.Hash != want {
				t.Fatalf("HEAD of the fetched cache: %v, %v; want %s", c, err, want)
			}
			secrets := []string{token, base64.StdEncoding.EncodeToString([]byte(user + ":" + token))}
			_ = filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					data, _ := os.ReadFile(p)
					for _, s := range secrets {
						if strings.Contains(string(data), s) {
							t.Errorf("%s holds the token", p)
						}
					}
				}
				return nil
			})
			bad := strings.Replace(url, token, "wrong-password", 1)
			_, err = Open(context.Background(), Source{Repo: bad, CacheDir: t.TempDir()})
			if err == nil || strings.Contains(err.Error(), "wrong-password") {
				t.Errorf("a wrong password: %v, want an error without it", err)
			}
		})
	}
}
