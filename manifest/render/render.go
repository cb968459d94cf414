// Package render turns a folder of a repository into the manifest documents kgit
// applies, as Argo CD chooses per path:
//
//   - a kustomization file (kustomization.yaml, kustomization.yml or Kustomization) in
//     the folder: built in-process with kustomize (sigs.k8s.io/kustomize/api krusty);
//   - a Chart.yaml in the folder: rendered by the helm command ("helm template");
//   - otherwise the folder itself: its *.yaml, *.yml and *.json files, recursively.
//
// It reads a repository tree through io/fs (gitsource.CommitFS for a commit,
// os.DirFS or fstest.MapFS in tests), so "../" reaches anywhere inside the repository and
// nothing outside it. Remote kustomize bases are refused: a render never uses the
// network. Decoding the documents is package manifest's job: Result.Files feeds
// manifest.Parse.
//
// Every error about the input is a *manifest.FieldError naming the file at fault (the
// kustomization, Chart.yaml or template), so a caller reports it as invalid input;
// ErrPathMissing when the folder does not exist. Other errors are I/O.
//
// Builds of kgit must use -tags kustomize_disable_go_plugin_support (or CGO_ENABLED=0):
// without it kustomize links Go's plugin package, the binary grows by about 25 MB and
// the linker's dead-method elimination is lost.
package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"kgit.dev/kgit/manifest"
)

// Kind is how a folder is rendered.
type Kind int

const (
	Plain     Kind = iota // the folder's manifest files as they are
	Kustomize             // a kustomization, built in-process
	Helm                  // a Helm chart, rendered by "helm template"
)

func (k Kind) String() string {
	switch k {
	case Kustomize:
		return "kustomize"
	case Helm:
		return "helm"
	}
	return "plain"
}

// ErrPathMissing: the folder to render is not in the tree.
var ErrPathMissing = errors.New("path not found")

// Options are the inputs of a render besides the tree. Only Helm uses them today.
type Options struct {
	// Release is the Helm release name: the app's name (required for a chart).
	Release string
	// Namespace is passed to helm as --namespace ("" leaves helm's default, "default").
	Namespace string
	// ValueFiles are Helm values files in the repository, relative to the chart's folder
	// (as Argo CD's valueFiles; "../" may leave the chart, not the repository). Later
	// files win; the chart's own values.yaml is always read first, by helm.
	ValueFiles []string
	// Set are helm --set values (key=value), applied after the values files.
	Set []string
	// HelmCommand is the helm program; "" looks up "helm" on the PATH.
	HelmCommand string
	// Sources makes kustomize record where each object comes from (Document.Source),
	// through its origin annotations: better messages, at about 1.6 times the
	// allocations of a large build. A caller can render again with it after a failure.
	Sources bool
}

// Document is one unit handed to manifest decoding.
//
// For a plain folder it is one whole file (possibly several "---" documents): Path is
// the file and manifest.Parse finds each document's line, as before rendering existed.
// For kustomize and Helm it is exactly one rendered object: Path is the file it is
// attributed to (the kustomization file at the folder, or the chart's template, e.g.
// charts/web/templates/deployment.yaml), Rendered is true because lines in Data are not
// lines of Path, and Object names it ("Deployment/web") for messages. With
// Options.Sources, a kustomize document's Source is the file the object was written in
// (e.g. apps/web/base/deployment.yaml) or the kustomization whose generator made it.
type Document struct {
	Path     string
	Data     []byte
	Rendered bool
	Object   string
	Source   string
}

// Origin names the document for a message: "web.yaml", or for a rendered one
// "overlays/prod/kustomization.yaml: Deployment/prod-web (from base/deployment.yaml)".
func (d Document) Origin() string {
	if !d.Rendered || d.Object == "" {
		return d.Path
	}
	if d.Source != "" && d.Source != d.Path {
		return d.Path + ": " + d.Object + " (from " + d.Source + ")"
	}
	return d.Path + ": " + d.Object
}

// Result is what a folder renders to.
type Result struct {
	Kind Kind
	// Entry is what was rendered: the kustomization file, the chart's Chart.yaml, or the
	// folder ("" for the repository's root).
	Entry string
	Docs  []Document
}

// Files returns the documents as manifest files, for manifest.Parse. A rendered file's
// Path is its Origin, so a message names the object (e.g.
// "overlays/prod/kustomization.yaml: Deployment/web:3: spec.replcas: unknown field").
// Until manifest.File learns that a rendered file's lines are not its Path's, that line
// number counts from the top of the rendered object.
func (r *Result) Files() []manifest.File {
	files := make([]manifest.File, len(r.Docs))
	for i, d := range r.Docs {
		files[i] = manifest.File{Path: d.Origin(), Data: d.Data}
	}
	return files
}

// Detect says how the folder dir of fsys is rendered and what its entry file is (the
// kustomization file or Chart.yaml; dir itself for a plain folder). Only dir itself is
// looked at, not its sub-folders. A kustomization wins over a Chart.yaml.
func Detect(fsys fs.FS, dir string) (Kind, string, error) {
	name, err := cleanDir(dir)
	if err != nil {
		return Plain, "", err
	}
	fi, err := fs.Stat(fsys, name)
	if err != nil || !fi.IsDir() {
		return Plain, "", fmt.Errorf("--path %q: %w", dir, ErrPathMissing)
	}
	kf, err := kustomizationFile(fsys, name)
	if err != nil {
		return Plain, "", err
	}
	if kf != "" {
		return Kustomize, kf, nil
	}
	chart := path.Join(name, "Chart.yaml")
	if fi, err := fs.Stat(fsys, chart); err == nil && !fi.IsDir() {
		return Helm, chart, nil
	}
	if name == "." {
		return Plain, "", nil
	}
	return Plain, name, nil
}

// Render renders the folder dir ("" or "." for the repository's root) of a repository
// tree. fsys must be the whole repository (rooted at its root), so that kustomize bases
// and Helm values files elsewhere in it can be read. Kustomize builds are serialised
// process-wide; a panic in kustomize is returned as an error.
func Render(ctx context.Context, fsys fs.FS, dir string, opts Options) (*Result, error) {
	kind, entry, err := Detect(fsys, dir)
	if err != nil {
		return nil, err
	}
	name, _ := cleanDir(dir)
	res := &Result{Kind: kind, Entry: entry}
	switch kind {
	case Kustomize:
		res.Docs, err = kustomize(fsys, name, entry, opts.Sources)
	case Helm:
		res.Docs, err = helm(ctx, fsys, name, entry, opts)
	default:
		res.Docs, err = plain(fsys, name)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// cleanDir turns a --path into an io/fs name ("." for the root).
func cleanDir(dir string) (string, error) {
	c := path.Clean("./" + strings.ReplaceAll(dir, "\\", "/"))
	if strings.HasPrefix(dir, "/") || c == ".." || strings.HasPrefix(c, "../") {
		return "", &manifest.FieldError{File: dir, Msg: "--path must be a folder inside the repository"}
	}
	return c, nil
}

// IsManifest reports whether a plain folder's file is read as manifests.
func IsManifest(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// plain reads a plain folder: every manifest file below it, sorted by path. A sub-folder
// holding a kustomization or a chart is an error: its files are not manifests, and kgit
// renders one source per path.
func plain(fsys fs.FS, dir string) ([]Document, error) {
	var docs []Document
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == dir {
				return nil
			}
			kind, entry, err := Detect(fsys, p)
			if err != nil {
				return err
			}
			if kind != Plain {
				return &manifest.FieldError{File: entry, Msg: fmt.Sprintf("a %s source inside the plain folder %s: point --path at %s to render it (one source per path)", kind, displayDir(dir), p)}
			}
			return nil
		}
		if !IsManifest(p) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return &manifest.FieldError{File: p, Msg: unwrapPathError(err)}
		}
		docs = append(docs, Document{Path: p, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Path < docs[j].Path })
	return docs, nil
}

// unwrapPathError drops the operation and path of an fs.PathError: the caller names the
// file already.
func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
