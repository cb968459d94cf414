package render

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/openapi"

	"kgit.dev/kgit/manifest"
)

// kustomizeMu serialises builds: kustomize keeps global state (the OpenAPI schema, caches)
// and is known to race on it (kustomize#3659), as Flux's kustomize package notes.
var kustomizeMu sync.Mutex

// kustomize builds the kustomization in dir, whose file is file.
func kustomize(fsys fs.FS, dir, file string, sources bool) ([]Document, error) {
	s := &scanner{fsys: fsys, seen: map[string]bool{}}
	if err := s.kustomization(dir, file); err != nil {
		return nil, err
	}
	k := kfs{fsys: fsys}
	if sources && !s.wantsOrigins {
		k.origin = file
	}
	docs, err := build(k, dir, s.usesOpenAPI, k.origin != "")
	if err != nil {
		return nil, &manifest.FieldError{File: file, Msg: "kustomize: " + cleanKustomizeError(err.Error())}
	}
	for i := range docs {
		docs[i].Path = file
	}
	return docs, nil
}

// source is the repository file an object comes from, by kustomize's origin annotation:
// the file it is written in, or the kustomization whose generator made it.
func source(dir string, o *resource.Origin) string {
	switch {
	case o == nil || o.Repo != "":
		return ""
	case o.Path != "":
		return path.Join(dir, o.Path)
	case o.ConfiguredIn != "":
		return path.Join(dir, o.ConfiguredIn)
	}
	return ""
}

// build runs krusty under the lock, turning a panic into an error. Load restrictions are
// off, as in Flux: the file system is the commit, so "../" reaches only the repository.
// Plugins are off (only kustomize's built-in generators and transformers run).
// Document.Source is filled from origin annotations when there are any; they are removed
// from the output when stripOrigins (kgit asked for them, not the kustomization).
func build(fsys kfs, dir string, resetOpenAPI, stripOrigins bool) (docs []Document, err error) {
	kustomizeMu.Lock()
	defer kustomizeMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize panicked: %v", r)
			resetOpenAPI = true
		}
		if resetOpenAPI {
			// a kustomization's own schema must not leak into the next build
			openapi.ResetOpenAPI()
		}
	}()
	k := krusty.MakeKustomizer(&krusty.Options{
		LoadRestrictions: types.LoadRestrictionsNone,
		PluginConfig:     types.DisabledPluginConfig(),
	})
	m, err := k.Run(fsys, abs(path.Clean("./"+dir)))
	if err != nil {
		return nil, err
	}
	sources := make([]string, m.Size())
	for i, r := range m.Resources() {
		o, _ := r.GetOrigin()
		sources[i] = source(dir, o)
	}
	if stripOrigins {
		if err := m.RemoveOriginAnnotations(); err != nil {
			return nil, err
		}
	}
	for i, r := range m.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", r.GetKind(), r.GetName(), err)
		}
		docs = append(docs, Document{Data: data, Rendered: true, Object: r.GetKind() + "/" + r.GetName(), Source: sources[i]})
	}
	return docs, nil
}

// cleanKustomizeError makes kustomize's paths, which start at the file system's root "/",
// read as repository paths.
func cleanKustomizeError(msg string) string {
	r := strings.NewReplacer("'/", "'", "\"/", "\"")
	return r.Replace(msg)
}
