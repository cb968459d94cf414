package render

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// errReadOnly is returned by every write to the kustomize file system.
var errReadOnly = errors.New("the repository is read-only during a render")

// kfs is kustomize's FileSystem over a repository tree: "/" is the repository's root,
// relative paths are taken from the root too. It cannot write, and since the tree is
// all it sees, nothing outside the repository can be read ("/.." is "/").
//
// When origin is set, the kustomization file of that name is read with
// "buildMetadata: [originAnnotations]" added, so that kustomize says which file each
// object comes from.
type kfs struct {
	fsys   fs.FS
	origin string
}

var _ filesys.FileSystem = kfs{}

// name turns kustomize's path into an io/fs name.
func (k kfs) name(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(p)), "/")
	if p == "" {
		return "."
	}
	return p
}

func abs(name string) string {
	if name == "." {
		return "/"
	}
	return "/" + name
}

func (k kfs) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (k kfs) Mkdir(string) error                  { return errReadOnly }
func (k kfs) MkdirAll(string) error               { return errReadOnly }
func (k kfs) RemoveAll(string) error              { return errReadOnly }
func (k kfs) WriteFile(string, []byte) error      { return errReadOnly }

func (k kfs) Open(p string) (filesys.File, error) {
	f, err := k.fsys.Open(k.name(p))
	if err != nil {
		return nil, err
	}
	return kfile{f}, nil
}

type kfile struct{ fs.File }

func (kfile) Write([]byte) (int, error) { return 0, errReadOnly }

func (k kfs) IsDir(p string) bool {
	fi, err := fs.Stat(k.fsys, k.name(p))
	return err == nil && fi.IsDir()
}

func (k kfs) Exists(p string) bool {
	_, err := fs.Stat(k.fsys, k.name(p))
	return err == nil
}

func (k kfs) ReadDir(p string) ([]string, error) {
	entries, err := fs.ReadDir(k.fsys, k.name(p))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// CleanedAbs splits a path into the folder and file name, as the in-memory and on-disk
// file systems of kustomize do: a folder is returned whole with an empty file name.
func (k kfs) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	n := k.name(p)
	fi, err := fs.Stat(k.fsys, n)
	if err != nil {
		return "", "", err
	}
	if fi.IsDir() {
		return filesys.ConfirmedDir(abs(n)), "", nil
	}
	return filesys.ConfirmedDir(abs(path.Dir(n))), path.Base(n), nil
}

// Glob matches as filepath.Glob does; hidden files only when the pattern asks for them,
// as kustomize's own file systems do.
func (k kfs) Glob(pattern string) ([]string, error) {
	matches, err := fs.Glob(k.fsys, k.name(pattern))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(matches))
	for i, m := range matches {
		out[i] = abs(m)
	}
	if !filesys.IsHiddenFilePath(pattern) {
		out = filesys.RemoveHiddenFiles(out)
	}
	return out, nil
}

func (k kfs) ReadFile(p string) ([]byte, error) {
	n := k.name(p)
	data, err := fs.ReadFile(k.fsys, n)
	if err == nil && n == k.origin {
		data = withOriginAnnotations(data)
	}
	return data, err
}

// withOriginAnnotations adds originAnnotations to a kustomization's buildMetadata.
func withOriginAnnotations(data []byte) []byte {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return data
	}
	root := doc.Content[0]
	item := &yaml.Node{Kind: yaml.ScalarNode, Value: types.OriginAnnotations}
	found := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "buildMetadata" && root.Content[i+1].Kind == yaml.SequenceNode {
			root.Content[i+1].Content = append(root.Content[i+1].Content, item)
			found = true
		}
	}
	if !found {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"},
			&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{item}})
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return data
	}
	return out
}

func (k kfs) Walk(p string, walkFn filepath.WalkFunc) error {
	return fs.WalkDir(k.fsys, k.name(p), func(n string, d fs.DirEntry, err error) error {
		if err != nil {
			return walkFn(abs(n), nil, err)
		}
		info, err := d.Info()
		return walkFn(abs(n), info, err)
	})
}
