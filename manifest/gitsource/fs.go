package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"kgit.dev/kgit/manifest"
)

// maxSymlinkHops bounds how many symlinks one lookup follows (as the kernel's ELOOP does).
const maxSymlinkHops = 40

// newCommitFS returns the whole tree of a commit as a read-only file system, rooted at the
// repository's root: the input of manifest/render. Paths are slash-separated and
// relative to the root, as io/fs wants ("." is the root). Nothing outside the commit can
// be read: there is no worktree, no "..", and a symlink is followed only to a file or a
// folder inside the tree (else the lookup fails with fs.ErrInvalid). Submodules do not
// exist in it. Files larger than manifest.MaxFileBytes cannot be read.
//
// The result implements fs.ReadFileFS, fs.ReadDirFS and fs.StatFS. It is safe for
// concurrent use as far as go-git's object storage is.
func newCommitFS(c *object.Commit) (fs.FS, error) {
	root, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", c.Hash, err)
	}
	return &commitFS{root: root, when: c.Committer.When}, nil
}

// FS is the commit's whole tree as a read-only file system (see newCommitFS), for
// manifest/render.
func (c *Commit) FS() (fs.FS, error) { return newCommitFS(c.c) }

// Revision describes the commit (SHA, subject, author, time), without files.
func (c *Commit) Revision() *Revision {
	return &Revision{Commit: c.Hash, Subject: c.Subject, Author: c.Author, When: c.When}
}

type commitFS struct {
	root *object.Tree
	when time.Time
}

// node is one resolved tree entry: a folder (tree != nil) or a regular file.
type node struct {
	name string // base name as asked for ("." for the root)
	path string // resolved path in the tree ("" for the root)
	mode filemode.FileMode
	tree *object.Tree // a folder
	// a file or symlink: the entry in its parent folder
	parent *object.Tree
	entry  *object.TreeEntry
}

// lookup resolves name, following symlinks inside the tree.
func (f *commitFS) lookup(op, name string) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &node{name: ".", tree: f.root, mode: filemode.Dir}, nil
	}
	n, err := f.resolve(strings.Split(name, "/"), 0)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	n.name = path.Base(name)
	return n, nil
}

// resolve walks the parts of a path from the root, following symlinks.
func (f *commitFS) resolve(parts []string, hops int) (*node, error) {
	cur := &node{tree: f.root, mode: filemode.Dir}
	var done []string
	for i, p := range parts {
		if cur.tree == nil {
			return nil, fs.ErrNotExist // a file in the middle of the path
		}
		e, err := cur.tree.FindEntry(p)
		if err != nil {
			return nil, fs.ErrNotExist
		}
		switch {
		case e.Mode == filemode.Dir:
			t, err := cur.tree.Tree(p)
			if err != nil {
				return nil, err
			}
			done = append(done, p)
			cur = &node{path: strings.Join(done, "/"), mode: e.Mode, tree: t}
		case e.Mode == filemode.Symlink:
			if hops >= maxSymlinkHops {
				return nil, fmt.Errorf("too many levels of symbolic links")
			}
			target, err := blob(cur.tree, e, 4096)
			if err != nil {
				return nil, err
			}
			t := string(target)
			resolved := path.Clean(path.Join(strings.Join(done, "/"), t))
			if path.IsAbs(t) || resolved == ".." || strings.HasPrefix(resolved, "../") {
				return nil, fmt.Errorf("symlink to %q points outside the repository: %w", t, fs.ErrInvalid)
			}
			rest := append(strings.Split(resolved, "/"), parts[i+1:]...)
			if resolved == "." {
				rest = parts[i+1:]
			}
			if len(rest) == 0 {
				return &node{tree: f.root, mode: filemode.Dir}, nil
			}
			return f.resolve(rest, hops+1)
		case e.Mode.IsFile():
			done = append(done, p)
			cur = &node{path: strings.Join(done, "/"), mode: e.Mode, parent: cur.tree, entry: e}
		default: // submodule
			return nil, fs.ErrNotExist
		}
	}
	return cur, nil
}

func blob(parent *object.Tree, e *object.TreeEntry, limit int64) ([]byte, error) {
	b, err := parent.TreeEntryFile(e)
	if err != nil {
		return nil, err
	}
	if b.Size > limit {
		return nil, fmt.Errorf("file is %d bytes, more than the limit of %d", b.Size, limit)
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (f *commitFS) Open(name string) (fs.File, error) {
	n, err := f.lookup("open", name)
	if err != nil {
		return nil, err
	}
	info, err := f.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if n.tree != nil {
		return &openDir{info: info, fsys: f, n: n}, nil
	}
	data, err := blob(n.parent, n.entry, manifest.MaxFileBytes)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &openFile{info: info, r: bytes.NewReader(data)}, nil
}

func (f *commitFS) ReadFile(name string) ([]byte, error) {
	n, err := f.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if n.tree != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	data, err := blob(n.parent, n.entry, manifest.MaxFileBytes)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

func (f *commitFS) Stat(name string) (fs.FileInfo, error) {
	n, err := f.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	info, err := f.info(n)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return info, nil
}

func (f *commitFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := f.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.tree == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return f.entries(n)
}

// entries lists a folder, sorted by name. A symlink is listed as what it points to; one
// that points outside the tree or nowhere as a file that cannot be read. Submodules are
// left out.
func (f *commitFS) entries(n *node) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for i := range n.tree.Entries {
		e := &n.tree.Entries[i]
		if e.Mode == filemode.Submodule {
			continue
		}
		child := &node{name: e.Name, path: path.Join(n.path, e.Name), mode: e.Mode, parent: n.tree, entry: e}
		if e.Mode == filemode.Dir || e.Mode == filemode.Symlink {
			r, err := f.resolve(strings.Split(child.path, "/"), 0)
			switch {
			case err == nil:
				r.name = e.Name
				child = r
			case e.Mode != filemode.Symlink:
				return nil, err
			}
			// a symlink that points outside the tree or nowhere is listed as a file whose
			// reading fails and says why, so that a reader names it rather than misses it
		}
		info, err := f.info(child)
		if err != nil {
			return nil, err
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (f *commitFS) info(n *node) (fs.FileInfo, error) {
	return &fileInfo{name: n.name, when: f.when, dir: n.tree != nil, exec: n.mode == filemode.Executable,
		parent: n.parent, entry: n.entry}, nil
}

// fileInfo describes a tree entry; a file's size is read from its blob when asked for.
type fileInfo struct {
	name      string
	when      time.Time
	dir, exec bool
	parent    *object.Tree
	entry     *object.TreeEntry
}

func (i *fileInfo) Name() string { return i.name }

// Size is the blob's size (0 for a folder, or -1 when the blob cannot be read).
func (i *fileInfo) Size() int64 {
	if i.dir {
		return 0
	}
	b, err := i.parent.TreeEntryFile(i.entry)
	if err != nil {
		return -1
	}
	return b.Size
}
func (i *fileInfo) Mode() fs.FileMode {
	switch {
	case i.dir:
		return fs.ModeDir | 0o555
	case i.exec:
		return 0o555
	}
	return 0o444
}
func (i *fileInfo) ModTime() time.Time { return i.when }
func (i *fileInfo) IsDir() bool        { return i.dir }
func (i *fileInfo) Sys() any           { return nil }

type openFile struct {
	info fs.FileInfo
	r    *bytes.Reader
}

func (o *openFile) Stat() (fs.FileInfo, error) { return o.info, nil }
func (o *openFile) Read(p []byte) (int, error) { return o.r.Read(p) }
func (o *openFile) Close() error               { return nil }

type openDir struct {
	info fs.FileInfo
	fsys *commitFS
	n    *node
	list []fs.DirEntry
	read bool
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.n.name, Err: errors.New("is a directory")}
}
func (d *openDir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *openDir) ReadDir(count int) ([]fs.DirEntry, error) {
	if !d.read {
		l, err := d.fsys.entries(d.n)
		if err != nil {
			return nil, err
		}
		d.list, d.read = l, true
	}
	if count <= 0 {
		l := d.list
		d.list = nil
		return l, nil
	}
	if len(d.list) == 0 {
		return nil, io.EOF
	}
	count = min(count, len(d.list))
	l := d.list[:count]
	d.list = d.list[count:]
	return l, nil
}
