package render

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"

	"kgit.dev/kgit/manifest"
)

// kustomizationFile returns the path of the kustomization file in dir ("" when there
// is none). Two of them in one folder is an error, as in kustomize.
func kustomizationFile(fsys fs.FS, dir string) (string, error) {
	var found []string
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, n)
		if fi, err := fs.Stat(fsys, p); err == nil && !fi.IsDir() {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", &manifest.FieldError{File: found[0], Msg: fmt.Sprintf("more than one kustomization file in %s: %s", displayDir(dir), strings.Join(found, ", "))}
}

func displayDir(dir string) string {
	if dir == "" || dir == "." {
		return "the repository's root"
	}
	return dir
}

// scan reads every kustomization reachable from the one in dir, before kustomize runs,
// and refuses what kustomize would fetch from the network (remote bases, URLs) or read
// from outside the repository, naming the kustomization file and the field. It also
// reports broken YAML with its line and a base that does not exist, which kustomize
// reports without naming the file that asked for it. usesOpenAPI is true when one of the
// kustomizations sets its own OpenAPI schema (kustomize keeps it in a global).
type scanner struct {
	fsys        fs.FS
	seen        map[string]bool
	usesOpenAPI bool
	// wantsOrigins is true when the first kustomization asks for origin annotations
	// itself: they are then kept in the output.
	wantsOrigins bool
}

func (s *scanner) kustomization(dir, file string) error {
	if s.seen[dir] {
		return nil // a cycle is kustomize's to report
	}
	s.seen[dir] = true
	data, err := fs.ReadFile(s.fsys, file)
	if err != nil {
		return &manifest.FieldError{File: file, Msg: err.Error()}
	}
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return yamlError(file, err)
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return &manifest.FieldError{File: file, Msg: err.Error()}
	}
	if len(k.OpenAPI) > 0 {
		s.usesOpenAPI = true
	}
	if len(s.seen) == 1 && slices.Contains(k.BuildMetadata, types.OriginAnnotations) {
		s.wantsOrigins = true
	}
	ref := func(field, p string, base bool) error { return s.ref(dir, file, field, p, base) }
	for _, list := range []struct {
		field string
		paths []string
	}{{"resources", k.Resources}, {"bases", k.Bases}, {"components", k.Components},
		{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators}} {
		for _, p := range list.paths {
			if err := ref(list.field, p, true); err != nil {
				return err
			}
		}
	}
	var files []struct{ field, path string }
	add := func(field string, paths ...string) {
		for _, p := range paths {
			if p != "" {
				files = append(files, struct{ field, path string }{field, p})
			}
		}
	}
	add("crds", k.Crds...)
	add("configurations", k.Configurations...)
	add("openapi.path", k.OpenAPI["path"])
	for _, p := range k.Patches {
		add("patches.path", p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902.path", p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		if !strings.ContainsAny(string(p), "\n:") { // else an inline patch
			add("patchesStrategicMerge", string(p))
		}
	}
	for _, r := range k.Replacements {
		add("replacements.path", r.Path)
	}
	gen := func(field string, kv types.KvPairSources) {
		for _, f := range kv.FileSources {
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			add(field+".files", f)
		}
		add(field+".envs", kv.EnvSources...)
		add(field+".env", kv.EnvSource)
	}
	for _, g := range k.ConfigMapGenerator {
		gen("configMapGenerator", g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		gen("secretGenerator", g.KvPairSources)
	}
	for _, f := range files {
		if err := ref(f.field, f.path, false); err != nil {
			return err
		}
	}
	return nil
}

// ref checks one path written in a kustomization. A base (resources and the like) may be
// a file or a folder; a folder's kustomization is scanned in turn.
func (s *scanner) ref(dir, file, field, p string, base bool) error {
	fail := func(format string, args ...any) error {
		return &manifest.FieldError{File: file, Path: field, Value: p, Msg: fmt.Sprintf(format, args...)}
	}
	if isRemote(p, base) {
		return fail("remote bases and URLs are not supported: kgit renders from the commit alone, without the network (vendor it into the repository)")
	}
	if path.IsAbs(p) {
		return fail("an absolute path: paths are relative to the kustomization's folder")
	}
	target := path.Join(dir, p)
	if target == ".." || strings.HasPrefix(target, "../") {
		return fail("points outside the repository")
	}
	fi, err := fs.Stat(s.fsys, target)
	if err != nil {
		return fail("no such file or folder in the repository at this commit (%s)", target)
	}
	if !base || !fi.IsDir() {
		return nil
	}
	kf, err := kustomizationFile(s.fsys, target)
	if err != nil {
		return err
	}
	if kf == "" {
		return fail("folder %s has no kustomization.yaml", target)
	}
	return s.kustomization(target, kf)
}

// isRemote reports whether kustomize would fetch p: an http(s) URL for any file, and for
// a base also what kustomize takes for a git repository (any URL scheme, git::, user@host:,
// github.com/...).
func isRemote(p string, base bool) bool {
	l := strings.ToLower(p)
	if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		return true
	}
	if !base {
		return false
	}
	l = strings.TrimPrefix(l, "git::")
	return strings.Contains(l, "://") || gitUser.MatchString(p) ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:")
}

var gitUser = regexp.MustCompile(`^(git::)?[a-zA-Z][a-zA-Z0-9-]*@`)

// yamlError locates a YAML syntax error, as package manifest does.
func yamlError(file string, err error) *manifest.FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return &manifest.FieldError{File: file, Line: line, Msg: "invalid YAML: " + msg}
}
