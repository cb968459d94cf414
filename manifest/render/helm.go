package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"kgit.dev/kgit/manifest"
)

// ErrNoHelm is wrapped by the error for a chart when the helm command cannot be found.
var ErrNoHelm = errors.New("the helm command is not on the PATH")

// noHelmError is a *manifest.FieldError (invalid input) that is also ErrNoHelm.
type noHelmError struct{ *manifest.FieldError }

func (e noHelmError) Unwrap() []error { return []error{e.FieldError, ErrNoHelm} }

// chartMeta is what render reads of a Chart.yaml (and of a v1 chart's requirements.yaml).
type chartMeta struct {
	APIVersion   string `yaml:"apiVersion"`
	Name         string `yaml:"name"`
	Dependencies []struct {
		Name       string `yaml:"name"`
		Repository string `yaml:"repository"`
	} `yaml:"dependencies"`
}

// helm renders the chart in dir with "helm template", as Argo CD does: the chart's files
// (and the values files) are written from the tree into a temporary folder first, and
// helm runs with its own empty configuration there, so neither the user's repositories
// and plugins nor the network play a part. CRDs are included; chart tests are not.
func helm(ctx context.Context, fsys fs.FS, dir, chartFile string, opts Options) ([]Document, error) {
	fail := func(format string, args ...any) error {
		return &manifest.FieldError{File: chartFile, Msg: fmt.Sprintf(format, args...)}
	}
	bin := opts.HelmCommand
	if bin == "" {
		bin = "helm"
	}
	bin, err := exec.LookPath(bin)
	if err != nil {
		return nil, noHelmError{&manifest.FieldError{File: chartFile, Msg: fmt.Sprintf("a Helm chart: rendering it runs \"helm template\", and %v (install helm 3 or 4)", ErrNoHelm)}}
	}
	if opts.Release == "" {
		return nil, fail("a Helm chart needs a release name (the app's name)")
	}
	meta, err := readChart(fsys, dir, chartFile)
	if err != nil {
		return nil, err
	}

	tmp, err := os.MkdirTemp("", "kgit-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	chartDir := filepath.Join(tmp, "chart")
	if err := writeTree(fsys, dir, chartDir); err != nil {
		return nil, err
	}
	if err := vendorLocalDependencies(fsys, dir, chartFile, chartDir, meta); err != nil {
		return nil, err
	}

	args := []string{"template", opts.Release, chartDir, "--include-crds", "--skip-tests"}
	if opts.Namespace != "" {
		args = append(args, "--namespace", opts.Namespace)
	}
	for i, v := range opts.ValueFiles {
		p := path.Join(dir, v)
		if path.IsAbs(v) || p == ".." || strings.HasPrefix(p, "../") {
			return nil, &manifest.FieldError{File: chartFile, Path: "values", Value: v, Msg: "points outside the repository"}
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, &manifest.FieldError{File: p, Msg: "values file: " + unwrapPathError(err)}
		}
		local := filepath.Join(tmp, fmt.Sprintf("values-%d.yaml", i))
		if err := os.WriteFile(local, data, 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--values", local)
	}
	for _, s := range opts.Set {
		args = append(args, "--set", s)
	}

	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = tmp
	home := filepath.Join(tmp, "helm-home")
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"HELM_PLUGINS="+filepath.Join(home, "plugins"),
		"HELM_NO_PLUGINS=1",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return nil, fmt.Errorf("run %s: %w", bin, err)
		}
		msg := strings.ReplaceAll(stderr.String(), chartDir, dir)
		msg = strings.ReplaceAll(msg, tmp+string(filepath.Separator), "")
		return nil, helmError(dir, chartFile, meta.Name, msg)
	}
	return splitHelm(dir, meta.Name, stdout.Bytes())
}

// readChart reads Chart.yaml, and a v1 chart's requirements.yaml for its dependencies.
func readChart(fsys fs.FS, dir, chartFile string) (*chartMeta, error) {
	data, err := fs.ReadFile(fsys, chartFile)
	if err != nil {
		return nil, &manifest.FieldError{File: chartFile, Msg: unwrapPathError(err)}
	}
	var meta chartMeta
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return nil, yamlError(chartFile, err)
	}
	if meta.Name == "" {
		return nil, &manifest.FieldError{File: chartFile, Path: "name", Msg: "Required value: a chart needs a name"}
	}
	if meta.APIVersion == "v1" {
		req := path.Join(dir, "requirements.yaml")
		if data, err := fs.ReadFile(fsys, req); err == nil {
			var r chartMeta
			if err := yaml.Unmarshal(data, &r); err != nil {
				return nil, yamlError(req, err)
			}
			meta.Dependencies = r.Dependencies
		}
	}
	return &meta, nil
}

// vendorLocalDependencies checks that each dependency of the chart is in its charts/
// folder, as helm needs. A "file://" dependency inside the repository that is not there
// is copied in, as "helm dependency build" would; any other missing one is an error,
// since fetching it needs the network.
func vendorLocalDependencies(fsys fs.FS, dir, chartFile, chartDir string, meta *chartMeta) error {
	for i, d := range meta.Dependencies {
		if hasSubchart(fsys, path.Join(dir, "charts"), d.Name) {
			continue
		}
		field := fmt.Sprintf("dependencies[%d]", i)
		if rel, ok := strings.CutPrefix(d.Repository, "file://"); ok {
			src := path.Join(dir, rel)
			if path.IsAbs(rel) || src == ".." || strings.HasPrefix(src, "../") {
				return &manifest.FieldError{File: chartFile, Path: field, Value: d.Repository, Msg: "points outside the repository"}
			}
			if fi, err := fs.Stat(fsys, path.Join(src, "Chart.yaml")); err == nil && !fi.IsDir() {
				if err := writeTree(fsys, src, filepath.Join(chartDir, "charts", d.Name)); err != nil {
					return err
				}
				continue
			}
		}
		return &manifest.FieldError{File: chartFile, Path: field, Value: d.Name,
			Msg: fmt.Sprintf("the dependency is not in %s/charts: vendor it (helm dependency build) and commit charts/, since kgit renders without the network", dir)}
	}
	return nil
}

// hasSubchart reports whether charts/ holds a chart of that name: a folder whose Chart.yaml
// names it, or an archive NAME-VERSION.tgz.
func hasSubchart(fsys fs.FS, charts, name string) bool {
	entries, err := fs.ReadDir(fsys, charts)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() {
			if strings.HasPrefix(e.Name(), name+"-") && strings.HasSuffix(e.Name(), ".tgz") {
				return true
			}
			continue
		}
		var m chartMeta
		if data, err := fs.ReadFile(fsys, path.Join(charts, e.Name(), "Chart.yaml")); err == nil && yaml.Unmarshal(data, &m) == nil && m.Name == name {
			return true
		}
	}
	return false
}

// writeTree copies the folder src of fsys to the local folder dst.
func writeTree(fsys fs.FS, src, dst string) error {
	return fs.WalkDir(fsys, src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, src), "/")
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return &manifest.FieldError{File: p, Msg: unwrapPathError(err)}
		}
		return os.WriteFile(target, data, 0o600)
	})
}

// helmTemplateRef finds the template a helm error is about: "template: web/templates/x.yaml:7:20:",
// "YAML parse error on web/templates/x.yaml:", "parse error at (web/templates/x.yaml:3):",
// "execution error at (web/templates/x.yaml:9:15):".
var helmTemplateRef = regexp.MustCompile(`(?:template: |parse error on |error at \()([^\s:()]+\.[A-Za-z]+)(?::(\d+))?`)

// helmError turns helm's stderr into an error naming the template in the repository
// (and its line) when helm names one, else the chart's Chart.yaml.
func helmError(dir, chartFile, chartName, stderr string) error {
	msg := strings.TrimSpace(stderr)
	if i := strings.LastIndex(msg, "Error: "); i >= 0 {
		msg = msg[i+len("Error: "):]
	}
	msg = strings.TrimSpace(strings.TrimSuffix(msg, "Use --debug flag to render out invalid YAML"))
	fe := &manifest.FieldError{File: chartFile, Msg: "helm template: " + msg}
	if m := helmTemplateRef.FindStringSubmatch(msg); m != nil {
		if rel, ok := strings.CutPrefix(m[1], chartName+"/"); ok {
			fe.File = path.Join(dir, rel)
			fe.Line, _ = strconv.Atoi(m[2])
		}
	}
	return fe
}

// splitHelm splits helm's output into one document per object, each attributed to the
// template helm names in its "# Source:" line.
func splitHelm(dir, chartName string, out []byte) ([]Document, error) {
	var docs []Document
	var cur bytes.Buffer
	source := ""
	flush := func() error {
		defer cur.Reset()
		var head struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		var probe any
		if err := yaml.Unmarshal(cur.Bytes(), &probe); err == nil && probe == nil {
			return nil // only comments or blank: a template that rendered nothing
		}
		origin := path.Join(dir, strings.TrimPrefix(source, chartName+"/"))
		if err := yaml.Unmarshal(cur.Bytes(), &head); err != nil {
			return &manifest.FieldError{File: origin, Msg: "helm rendered invalid YAML: " + err.Error()}
		}
		docs = append(docs, Document{Path: origin, Data: bytes.Clone(cur.Bytes()), Rendered: true, Object: head.Kind + "/" + head.Metadata.Name})
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, manifest.MaxFileBytes)
	for sc.Scan() {
		line := sc.Text()
		if line == "---" || strings.HasPrefix(line, "--- ") {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if s, ok := strings.CutPrefix(line, "# Source: "); ok {
			source = strings.TrimSpace(s)
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read helm's output: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}
