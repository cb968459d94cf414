package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker"
	_ "kgit.dev/kgit/backend/docker/engine/enginetls" // an engine that speaks TLS (DOCKER_CERT_PATH)
	"kgit.dev/kgit/backend/probe/probetls"
	"kgit.dev/kgit/backend/process"
	"kgit.dev/kgit/internal/tmpdir"
	"kgit.dev/kgit/manifest/gitsource"
)

// globals are the flags every command shares: the source, the app, the backend and the
// state directory. One value is made per root command; there are no package globals.
type globals struct {
	repo, ref, path, app string
	backendName          string
	allowHostAccess      bool
	stateDir             string
	stdout, stderr       io.Writer
	opened               *gitsource.Repo // the source's repository, opened once per command
	trust                trustFlags      // registered by the commands that deploy a commit
	helmValues, helmSet  []string
	cluster              clusterFlags
}

// repository opens the source's repository, once per command.
func (g *globals) repository(ctx context.Context) (*gitsource.Repo, error) {
	if g.opened != nil {
		return g.opened, nil
	}
	src, err := g.source()
	if err != nil {
		return nil, err
	}
	if g.opened, err = gitsource.Open(ctx, src); err != nil {
		return nil, err
	}
	return g.opened, nil
}

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.repo, "repo", "", "git repository: a local path or a URL (default: the current directory)")
	f.StringVar(&g.ref, "ref", "", "branch, tag or commit (default: the checked-out branch, or the remote's HEAD)")
	f.StringVar(&g.path, "path", "", "folder inside the repository that holds the manifests (default: the root)")
	f.StringArrayVar(&g.helmValues, "helm-values", nil, "with a Helm chart at --path: a values file, relative to the chart's folder (repeatable; later files win)")
	f.StringArrayVar(&g.helmSet, "helm-set", nil, "with a Helm chart at --path: a value as helm --set takes it, KEY=VALUE (repeatable)")
	f.StringVar(&g.app, "app", "", "app name (default: derived from the repository and path)")
	f.StringVar(&g.backendName, "backend", "", "where apps run: process, docker, podman (a local backend that kgit's controllers drive) or kubernetes (a cluster) (default: $KGIT_BACKEND or process)")
	g.cluster.register(f)
	f.BoolVar(&g.allowHostAccess, "allow-host-access", false, "on the docker backend, allow manifests that reach into the host (hostNetwork, hostPID, hostIPC, privileged, added capabilities, hostPath volumes)")
	f.StringVar(&g.stateDir, "state-dir", "", "state directory for the journal and the git cache (default: $KGIT_STATE_DIR or $XDG_STATE_HOME/kgit)")
}

// sourceGiven reports whether the user named a source or an app, which narrows what
// read-only commands show.
func (g *globals) sourceGiven(cmd *cobra.Command) bool {
	for _, name := range []string{"repo", "ref", "path", "app"} {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

func (g *globals) state() string {
	if g.stateDir != "" {
		return g.stateDir
	}
	if d := os.Getenv("KGIT_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "kgit")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		// No home ($HOME unset: a service): kgit's private folder, which no other user
		// can have made. Refused, a fresh folder for this command: the state is disposable.
		if dir, err := tmpdir.Dir(); err == nil {
			g.stateDir = filepath.Join(dir, "state")
		} else if g.stateDir, err = os.MkdirTemp("", "kgit-state-"); err != nil {
			g.stateDir = filepath.Join(os.TempDir(), "kgit-state-unusable") // every use fails, saying where
		}
		return g.stateDir
	}
	return filepath.Join(home, ".local", "state", "kgit")
}

// backend opens the chosen backend and checks that it is available.
func (g *globals) backend(ctx context.Context) (backend.Backend, error) {
	name := g.backendName
	if name == "" {
		name = os.Getenv("KGIT_BACKEND")
	}
	var b backend.Backend
	switch name {
	case "", process.Name:
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("process: cannot find kgit's own binary: %w", err)
		}
		root, err := process.DefaultRoot()
		if err != nil {
			return nil, err
		}
		b = process.New(root, exe) // it finds kgit-supervisor itself
	case docker.Name, docker.PodmanName: // podman: the docker backend on Podman's socket, found without DOCKER_HOST
		var d *docker.Backend
		var err error
		if name == docker.Name {
			d, err = docker.New(g.stderr)
		} else {
			d, err = docker.NewPodman(ctx, g.stderr)
		}
		if err != nil {
			return nil, err
		}
		if exe, err := os.Executable(); err == nil {
			// each app's pods are tended between commands
			d.UseTender(process.Beside(exe, docker.TenderName), exe, probetls.Handshake)
		}
		b = d
	case KubernetesName:
		return nil, invalid("this command does not read a cluster yet: with --backend kubernetes, use kubectl (sync, diff, render, rollback, rollout, scale, down, get, describe, events, logs, exec and port-forward work)")
	default:
		return nil, invalid("--backend %q: unknown backend (available: process, docker, podman, kubernetes)", name)
	}
	if err := b.Available(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

func (g *globals) source() (gitsource.Source, error) {
	p, err := gitsource.CleanPath(g.path)
	if err != nil {
		return gitsource.Source{}, err
	}
	return gitsource.Source{Repo: g.repo, Ref: g.ref, Path: p, CacheDir: filepath.Join(g.state(), "git")}, nil
}

// appName is --app, or one derived from the repository's name and the path.
func (g *globals) appName() (string, error) {
	if g.app != "" {
		if !dnsLabel.MatchString(g.app) || len(g.app) > 63 {
			return "", invalid("--app %q: must be a DNS label (lower case letters, digits and '-', at most 63 characters)", g.app)
		}
		return g.app, nil
	}
	src, err := g.source()
	if err != nil {
		return "", err
	}
	base := ""
	if gitsource.IsURL(src.Repo) {
		base = strings.TrimSuffix(path.Base(strings.TrimRight(src.Repo, "/")), ".git")
		if i := strings.LastIndex(base, ":"); i >= 0 {
			base = base[i+1:]
		}
	} else {
		dir := src.Repo
		if dir == "" {
			dir = "."
		}
		var err error
		if base, err = gitsource.LocalName(dir); err != nil {
			return "", invalid("%s is not a git repository (%v): name one with --repo, or the app with --app", dir, err)
		}
	}
	if src.Path != "" {
		base += "-" + strings.ReplaceAll(src.Path, "/", "-")
	}
	name := sanitize(base)
	if name == "" {
		return "", invalid("cannot derive an app name from %q: set --app", base)
	}
	return name, nil
}

var (
	dnsLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	notInLabel = regexp.MustCompile(`[^a-z0-9-]+`)
)

func sanitize(s string) string {
	s = notInLabel.ReplaceAllString(strings.ToLower(s), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}

// appFilter is the app read-only commands narrow to: "" (every app) unless a source or
// --app was given.
func (g *globals) appFilter(cmd *cobra.Command) (string, error) {
	if !g.sourceGiven(cmd) {
		return "", nil
	}
	return g.appName()
}
