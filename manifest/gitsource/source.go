// Package gitsource reads manifests from a git repository at a commit: a local
// repository in place, a remote one through a bare clone in the state directory. It is
// apart from package manifest so that what runs pods (the supervisor) never links git.
package gitsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/gofrs/flock"

	"kgit.dev/kgit/manifest"
)

// Errors a caller maps to "invalid input" (exit 3): nothing was changed.
var (
	ErrRefNotFound = errors.New("ref not found")
	ErrPathOutside = errors.New("path is outside the repository")
	ErrPathMissing = errors.New("path not found")
)

// Source names manifests: a repository (local path or URL), a ref and a folder in it.
type Source struct {
	Repo string // local path or URL; "" means the current directory
	Ref  string // branch, tag or commit; "" means the checked-out branch or the remote's HEAD
	Path string // folder inside the repository; "" means the root
	// CacheDir holds bare clones of remote repositories (under the state directory).
	CacheDir string
}

// Revision is the content of a Source at one commit.
type Revision struct {
	Commit  string // full SHA
	Subject string
	Author  string
	When    time.Time
	Files   []manifest.File
}

// IsURL reports whether repo names a remote rather than a local path.
func IsURL(repo string) bool {
	return strings.Contains(repo, "://") || scpLike.MatchString(repo)
}

var scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:`)

// RedactURL hides credentials in a repository URL, so it can be printed.
func RedactURL(repo string) string {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil {
		return repo
	}
	u.User = url.User("REDACTED")
	return u.String()
}

// CleanPath checks that a --path stays inside the repository and returns it cleaned
// ("" for the root).
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	c := path.Clean(filepath.ToSlash(p))
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("--path %q: %w", p, ErrPathOutside)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

// Repo is an opened repository: the one handle a command keeps (go-git stays inside
// this package).
type Repo struct {
	git *git.Repository
	src Source
}

// Commit is one commit of a Repo.
type Commit struct {
	Hash    string // full SHA
	Tree    string // the SHA of its tree: what a render of it depends on
	Subject string
	Author  string
	When    time.Time
	c       *object.Commit
}

// Open opens the repository of a source: a local repository in place, or a remote one
// through a bare cache that is fetched only when the remote's refs moved.
func Open(ctx context.Context, src Source) (*Repo, error) {
	r, err := open(ctx, src)
	if err != nil {
		return nil, err
	}
	return &Repo{git: r, src: src}, nil
}

// Name is the repository as messages name it (credentials hidden).
func (r *Repo) Name() string {
	if r.src.Repo == "" {
		return "the repository"
	}
	return RedactURL(r.src.Repo)
}

// Resolve finds the commit a ref names: a branch, tag, full or abbreviated SHA, or ""
// for the source's ref (HEAD when it names none).
func (r *Repo) Resolve(ref string) (*Commit, error) {
	if ref == "" {
		ref = r.src.Ref
	}
	c, err := resolveCommit(r.git, ref)
	if err != nil {
		return nil, err
	}
	return commitOf(c), nil
}

// Describe returns the commit of a full SHA, or false when the repository lacks it.
func (r *Repo) Describe(sha string) (*Commit, bool) {
	c, err := r.git.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return nil, false
	}
	return commitOf(c), true
}

// Read returns the manifest files of the source's path at a commit.
func (r *Repo) Read(c *Commit) (*Revision, error) {
	return readCommit(c.c, r.src.Path)
}

func commitOf(c *object.Commit) *Commit {
	return &Commit{Hash: c.Hash.String(), Tree: c.TreeHash.String(), Subject: firstLine(c.Message), Author: c.Author.Name, When: c.Committer.When, c: c}
}

// LocalName is the name of the working tree that holds dir (its folder's name), for an
// app name derived from the repository.
func LocalName(dir string) (string, error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", err
	}
	wt, err := r.Worktree()
	if err != nil {
		abs, _ := filepath.Abs(dir)
		return strings.TrimSuffix(filepath.Base(abs), ".git"), nil
	}
	return filepath.Base(wt.Filesystem.Root()), nil
}

func open(ctx context.Context, src Source) (*git.Repository, error) {
	if !IsURL(src.Repo) {
		dir := src.Repo
		if dir == "" {
			dir = "."
		}
		r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
		if err != nil {
			return nil, fmt.Errorf("open repository %s: %w", dir, err)
		}
		return keepingPacks(r)
	}
	return openCached(ctx, src)
}

func openCached(ctx context.Context, src Source) (*git.Repository, error) {
	name := RedactURL(src.Repo)
	remote, auth := splitCredentials(src.Repo)
	sum := sha256.Sum256([]byte(remote))
	dir := filepath.Join(src.CacheDir, hex.EncodeToString(sum[:8])+".git")
	if err := os.MkdirAll(src.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("git cache: %w", err)
	}
	lock := flock.New(dir + ".lock")
	if ok, err := lock.TryLockContext(ctx, 100*time.Millisecond); err != nil || !ok {
		return nil, fmt.Errorf("git cache %s is locked: %v", dir, err)
	}
	defer lock.Unlock()

	r, err := openBare(dir)
	if err != nil {
		// Missing, or left half made by a killed sync: start over.
		if r, err = initCache(dir, remote); err != nil {
			return nil, fmt.Errorf("git cache for %s: %w", name, err)
		}
	}
	reopen, err := refresh(ctx, r, dir, auth)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %s", name, redactErr(err, src.Repo))
	}
	if reopen {
		closeStorage(r)
		return openBare(dir)
	}
	return r, nil
}

// initCache makes an empty bare repository with the remote, aside, and renames it into
// place, so a crash never leaves a cache that cannot be opened.
func initCache(dir, remote string) (*git.Repository, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	tmp := fmt.Sprintf("%s.new-%d", dir, os.Getpid())
	os.RemoveAll(tmp)
	r, err := git.PlainInit(tmp, true)
	if err == nil {
		_, err = r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{remote}, Fetch: []config.RefSpec{
			"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}})
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return openBare(dir)
}

// keepingPacks reopens a local repository with its packfiles kept open: go-git
// otherwise opens and closes the packfile for every object it reads, a tenth of a
// full pass over a tree of 10,000 files. It does not assume exclusive access (the user
// may commit or gc meanwhile): the packs are still listed at each read.
func keepingPacks(r *git.Repository) (*git.Repository, error) {
	fs, ok := r.Storer.(*filesystem.Storage)
	if !ok {
		return r, nil
	}
	var wt billy.Filesystem
	if w, err := r.Worktree(); err == nil {
		wt = w.Filesystem
	}
	st := filesystem.NewStorageWithOptions(fs.Filesystem(), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	return git.Open(st, wt)
}

// Close closes the packfiles the repository keeps open.
func (r *Repo) Close() error { return closeStorage(r.git) }

// closeStorage closes the packfiles a go-git repository's storage keeps open.
func closeStorage(r *git.Repository) error {
	if c, ok := r.Storer.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// openBare opens a cache with storage options for a single user (the cache's file lock
// makes kgit its only user): packfiles and indexes are not re-checked on every access,
// and packfiles stay open.
func openBare(dir string) (*git.Repository, error) {
	if _, err := os.Stat(filepath.Join(dir, "config")); err != nil {
		return nil, git.ErrRepositoryNotExists
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRUDefault(),
		filesystem.Options{ExclusiveAccess: true, KeepDescriptors: true})
	return git.Open(st, nil)
}

// splitCredentials takes a password or token out of an http(s) URL: it is passed to
// the transport and never written to the cache's config.
func splitCredentials(repo string) (string, transport.AuthMethod) {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return repo, nil
	}
	pass, ok := u.User.Password()
	if !ok {
		return repo, nil
	}
	auth := &githttp.BasicAuth{Username: u.User.Username(), Password: pass}
	u.User = nil
	return u.String(), auth
}

// refresh lists the remote's refs and fetches only when one of them moved; it points the
// cache's HEAD at the remote's default branch. It reports whether the repository must be
// opened again (the git command line fetched into it).
func refresh(ctx context.Context, r *git.Repository, dir string, auth transport.AuthMethod) (bool, error) {
	rem, err := r.Remote("origin")
	if err != nil {
		return false, err
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return false, err
	}
	moved := false
	for _, ref := range refs {
		n := ref.Name()
		if ref.Type() == plumbing.SymbolicReference && n == plumbing.HEAD {
			if err := r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref.Target())); err != nil {
				return false, err
			}
			continue
		}
		if !n.IsBranch() && !n.IsTag() {
			continue
		}
		local, err := r.Storer.Reference(n)
		if err != nil || local.Hash() != ref.Hash() {
			moved = true
		}
	}
	if !moved {
		return false, nil
	}
	return fetch(ctx, r, dir, auth)
}

func redactErr(err error, repo string) string {
	msg := err.Error()
	if u, e := url.Parse(repo); e == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "REDACTED")
		}
		msg = strings.ReplaceAll(msg, repo, RedactURL(repo))
	}
	return msg
}

// resolveCommit finds the commit a ref names: a branch, tag, full or abbreviated SHA,
// or "" for HEAD.
func resolveCommit(r *git.Repository, ref string) (*object.Commit, error) {
	rev := ref
	if rev == "" {
		rev = "HEAD"
	}
	var h *plumbing.Hash
	var err error
	for _, candidate := range []string{rev, "refs/tags/" + rev, "refs/heads/" + rev} {
		if h, err = r.ResolveRevision(plumbing.Revision(candidate)); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("--ref %q: %w", rev, ErrRefNotFound)
	}
	if c, err := r.CommitObject(*h); err == nil {
		return c, nil
	}
	if tag, err := r.TagObject(*h); err == nil {
		if c, err := tag.Commit(); err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("--ref %q does not name a commit: %w", rev, ErrRefNotFound)
}

// IsManifest reports whether a file name is read as manifests.
func IsManifest(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// readCommit returns the manifest files under dir (recursively, sorted by path) in a
// commit's tree. It never reads a worktree: uncommitted edits are not deployed.
// Submodules are skipped; a symlink is followed only to a regular file inside the tree.
func readCommit(c *object.Commit, dir string) (*Revision, error) {
	root, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", c.Hash, err)
	}
	tree := root
	if dir != "" {
		if tree, err = root.Tree(dir); err != nil {
			return nil, fmt.Errorf("--path %q at commit %s: %w", dir, c.Hash.String()[:12], ErrPathMissing)
		}
	}
	rev := &Revision{Commit: c.Hash.String(), Subject: firstLine(c.Message), Author: c.Author.Name, When: c.Committer.When}
	err = tree.Files().ForEach(func(f *object.File) error {
		if !IsManifest(f.Name) {
			return nil
		}
		full := path.Join(dir, f.Name)
		if f.Mode == filemode.Symlink {
			var err error
			if f, err = followSymlink(root, full, f); err != nil {
				return err
			}
		}
		data, err := readBlob(f, full)
		if err != nil {
			return err
		}
		rev.Files = append(rev.Files, manifest.File{Path: full, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rev.Files, func(i, j int) bool { return rev.Files[i].Path < rev.Files[j].Path })
	return rev, nil
}

func followSymlink(root *object.Tree, full string, link *object.File) (*object.File, error) {
	target, err := link.Contents()
	if err != nil {
		return nil, err
	}
	resolved := path.Clean(path.Join(path.Dir(full), target))
	if path.IsAbs(target) || resolved == ".." || strings.HasPrefix(resolved, "../") {
		return nil, &manifest.FieldError{File: full, Msg: fmt.Sprintf("symlink to %q points outside the repository: not followed", target)}
	}
	f, err := root.File(resolved)
	if err != nil || f.Mode == filemode.Symlink || !f.Mode.IsFile() {
		return nil, &manifest.FieldError{File: full, Msg: fmt.Sprintf("symlink to %q does not point to a regular file in the repository", target)}
	}
	return f, nil
}

func readBlob(f *object.File, name string) ([]byte, error) {
	if f.Size > manifest.MaxFileBytes {
		return nil, &manifest.FieldError{File: name, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", f.Size, manifest.MaxFileBytes)}
	}
	s, err := f.Contents()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return []byte(s), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Behind counts the commits reachable from head and not from base (git rev-list
// --count base..head), walking at most limit commits; ok is false when base is not
// an ancestor of head within that walk (or either is unknown).
func (r *Repo) Behind(base, head string, limit int) (n int, ok bool) {
	if base == head {
		return 0, true
	}
	hc, err := r.git.CommitObject(plumbing.NewHash(head))
	if err != nil {
		return 0, false
	}
	want := plumbing.NewHash(base)
	seen := map[plumbing.Hash]bool{hc.Hash: true}
	queue := []*object.Commit{hc}
	found := false
	for len(queue) > 0 && len(seen) <= limit {
		c := queue[0]
		queue = queue[1:]
		if c.Hash == want {
			found = true
			continue
		}
		n++
		for _, p := range c.ParentHashes {
			if seen[p] {
				continue
			}
			seen[p] = true
			pc, err := r.git.CommitObject(p)
			if err != nil {
				return 0, false
			}
			queue = append(queue, pc)
		}
	}
	return n, found && len(queue) == 0
}
