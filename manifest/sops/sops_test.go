package sops

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// The tests encrypt with the real sops command and check that Decrypt reads
// exactly what `sops decrypt` reads. sops is found in
// $KGIT_TOOLS_CACHE/bin (default ~/.cache/kgit-tools/bin, where
// testdata/tools/install-sops.sh puts it) or on the PATH. Without it these
// tests skip, unless KGIT_REQUIRE_SOPS=1, when they fail.

func sopsBinary(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("KGIT_TOOLS_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "kgit-tools")
		}
	}
	if cache != "" {
		p := filepath.Join(cache, "bin", "sops")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("sops"); err == nil {
		return p
	}
	if os.Getenv("KGIT_REQUIRE_SOPS") == "1" {
		t.Fatal("sops not found (KGIT_REQUIRE_SOPS=1): run testdata/tools/install-sops.sh")
	}
	t.Skip("sops not found: run testdata/tools/install-sops.sh (set KGIT_REQUIRE_SOPS=1 to fail instead)")
	return ""
}

type fixture struct {
	t       *testing.T
	sops    string
	dir     string
	keyFile string
	keys    *Keys
	rcpt    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, sops: sopsBinary(t), dir: t.TempDir()}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	f.rcpt = id.Recipient().String()
	f.keyFile = filepath.Join(f.dir, "keys.txt")
	writeFile(t, f.keyFile, "# test key\n"+id.String()+"\n")
	f.keys = loadKeyFiles(t, f.keyFile)
	return f
}

func loadKeyFiles(t *testing.T, files ...string) *Keys {
	t.Helper()
	k, err := LoadKeys(KeyOptions{Files: files, LookupEnv: noEnv, UserConfigDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func noEnv(string) (string, bool) { return "", false }

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// with is f reporting to the subtest t.
func (f *fixture) with(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

func (f *fixture) run(args ...string) []byte {
	f.t.Helper()
	cmd := exec.Command(f.sops, args...)
	cmd.Dir = f.dir
	cmd.Env = []string{"HOME=" + f.dir, "SOPS_AGE_KEY_FILE=" + f.keyFile, "PATH=/usr/bin:/bin"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		f.t.Fatalf("sops %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// encrypt writes plain to name in the fixture folder and returns what
// `sops encrypt` makes of it.
func (f *fixture) encrypt(name, plain string, flags ...string) []byte {
	f.t.Helper()
	writeFile(f.t, filepath.Join(f.dir, name), plain)
	args := append([]string{"encrypt", "--age", f.rcpt}, flags...)
	return f.run(append(args, name)...)
}

// sopsDecrypt is the reference: `sops decrypt` of the encrypted bytes.
func (f *fixture) sopsDecrypt(name string, enc []byte) []byte {
	f.t.Helper()
	p := filepath.Join(f.dir, "enc-"+name)
	writeFile(f.t, p, string(enc))
	return f.run("decrypt", filepath.Base(p))
}

func yamlDocs(t *testing.T, b []byte) []any {
	t.Helper()
	var docs []any
	d := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var v any
		if err := d.Decode(&v); err != nil {
			if err.Error() == "EOF" {
				return docs
			}
			t.Fatalf("%v\n%s", err, b)
		}
		docs = append(docs, v)
	}
}

func floatToInt(v any) any {
	switch v := v.(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v)
		}
	case []any:
		for i := range v {
			v[i] = floatToInt(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = floatToInt(v[k])
		}
	}
	return v
}

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels:
    app: db
type: Opaque
data:
  password: aHVudGVyMg==
  empty: ""
stringData:
  user: admin
  dsn: "postgres://admin:hunter2@db:5432/app?sslmode=disable"
  multi: |
    line one
    line two
`

const configMapYAML = `# a comment at the top
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings # inline comment
data:
  replicas: "3"
  mode: fast
nested:
  ints: [1, -2, 300000]
  floats: [1.5, 2.0, 1e3]
  bools: [true, false]
  deeper:
    - name: a
      on: yes
    - name: b
      weight: 0.25
      tags: [x, y]
  nothing: null
  left_unencrypted: keep me
  when: 2024-01-02T03:04:05Z
`

func TestDecryptMatchesSops(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, file, plain string
		flags             []string
	}{
		{"secret-encrypted-regex", "secret.yaml", secretYAML, []string{"--encrypted-regex", "^(data|stringData)$"}},
		{"secret-whole", "secret2.yaml", secretYAML, nil},
		{"configmap-whole", "cm.yaml", configMapYAML, nil},
		{"configmap-unencrypted-regex", "cm2.yaml", configMapYAML, []string{"--unencrypted-regex", "^(apiVersion|kind|metadata)$"}},
		{"configmap-encrypted-suffix", "cm3.yaml", strings.ReplaceAll(configMapYAML, "mode:", "mode_secret:"), []string{"--encrypted-suffix", "_secret"}},
		// mac_only_encrypted has no flag: it comes from .sops.yaml (below).
		{"mac-only-encrypted", "maconly.yaml", configMapYAML, nil},
		{"comment-regex", "comments.yaml", "a: 1\n# sops:enc\nb: secret\nc: plain\nl:\n  - x\n  # sops:enc\n  - y\n  - z # inline\n", nil},
		{"multi-document", "multi.yaml", secretYAML + "---\n" + configMapYAML, []string{"--encrypted-regex", "^(data|stringData)$"}},
	}
	writeFile(t, filepath.Join(f.dir, ".sops.yaml"), "creation_rules:\n  - path_regex: maconly\\.yaml$\n    encrypted_regex: ^data$\n    mac_only_encrypted: true\n  - path_regex: comments\\.yaml$\n    encrypted_comment_regex: sops:enc\n  - path_regex: .*\n")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := f.with(t)
			enc := f.encrypt(c.file, c.plain, c.flags...)
			if !IsEncrypted(enc) {
				t.Fatal("IsEncrypted = false on a sops file")
			}
			got, err := Decrypt(c.file, enc, f.keys)
			if err != nil {
				t.Fatal(err)
			}
			want := f.sopsDecrypt(c.file, enc)
			if d := cmp.Diff(yamlDocs(t, want), yamlDocs(t, got)); d != "" {
				t.Errorf("kgit and sops differ (-sops +kgit):\n%s\nkgit:\n%s", d, got)
			}
			// sops writes integral floats (2.0) back as 2: compare with
			// the plain input up to that.
			if d := cmp.Diff(floatToInt(yamlDocs(t, []byte(c.plain))), floatToInt(yamlDocs(t, got))); d != "" {
				t.Errorf("not the plain input (-plain +kgit):\n%s", d)
			}
			if c.name == "mac-only-encrypted" && !bytes.Contains(enc, []byte("mac_only_encrypted: true")) {
				t.Error("the fixture was not written with mac_only_encrypted")
			}
			if regexp.MustCompile(`(?m)^sops:`).Match(got) || bytes.Contains(got, []byte("ENC[")) {
				t.Errorf("result still holds sops metadata or ENC[:\n%s", got)
			}
		})
	}
}

func TestDecryptJSONAndBinary(t *testing.T) {
	f := newFixture(t)
	plainJSON := `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"j"},"stringData":{"token":"s3cr3t","n":42,"f":0.5,"ok":true,"list":["a",1,false,null]}}`
	enc := f.encrypt("s.json", plainJSON)
	got, err := Decrypt("s.json", enc, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	var a, b, c any
	for _, x := range []struct {
		data []byte
		v    *any
	}{{f.sopsDecrypt("s.json", enc), &a}, {got, &b}, {[]byte(plainJSON), &c}} {
		if err := json.Unmarshal(x.data, x.v); err != nil {
			t.Fatalf("%v\n%s", err, x.data)
		}
	}
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("JSON: kgit and sops differ:\n%s", d)
	}
	if d := cmp.Diff(c, b); d != "" {
		t.Errorf("JSON: not the plain input:\n%s", d)
	}
	// Key order is kept.
	if !bytes.HasPrefix(bytes.TrimSpace(got), []byte("{\n  \"kind\"")) {
		t.Errorf("JSON key order not kept:\n%s", got)
	}

	raw := "KEY=value\nOTHER=2\n\x00binary"
	enc = f.encrypt("blob.bin", raw)
	got, err = Decrypt("blob.bin", enc, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.sopsDecrypt("blob.bin", enc); !bytes.Equal(got, want) || string(got) != raw {
		t.Errorf("binary: got %q, sops %q", got, want)
	}

	enc = f.encrypt("app.env", "A=1\nB=two\n")
	if _, err := Decrypt("app.env", enc, f.keys); !IsKind(err, KindFormat) || !strings.Contains(err.Error(), "app.env") {
		t.Errorf("dotenv: got %v, want a format error naming the file", err)
	}
}

// secret values that must never show in an error.
var secretWords = []string{"hunter2", "admin", "aHVudGVyMg", "line one"}

func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	for _, w := range secretWords {
		if strings.Contains(err.Error(), w) {
			t.Errorf("error leaks %q: %v", w, err)
		}
	}
	if strings.Contains(err.Error(), "ENC[") {
		t.Errorf("error quotes a ciphertext: %v", err)
	}
}

func TestTamperedAndWrongKey(t *testing.T) {
	f := newFixture(t)
	enc := string(f.encrypt("secret.yaml", secretYAML, "--encrypted-regex", "^(data|stringData)$"))
	if _, err := Decrypt("secret.yaml", []byte(enc), f.keys); err != nil {
		t.Fatal(err)
	}
	encValue := regexp.MustCompile(`ENC\[AES256_GCM,data:([^,]+),`)
	macLine := regexp.MustCompile(`(?m)^(\s*mac: ENC\[AES256_GCM,data:)(.)`)
	flip := func(c byte) string {
		if c == 'A' {
			return "B"
		}
		return "A"
	}
	tests := []struct {
		name   string
		mutate func(string) string
		kind   ErrorKind
	}{
		{"plain value changed", func(s string) string {
			return strings.Replace(s, "name: db", "name: evil", 1)
		}, KindMAC},
		{"plain value added", func(s string) string {
			return strings.Replace(s, "type: Opaque", "type: Opaque\nimmutable: true", 1)
		}, KindMAC},
		{"encrypted value changed", func(s string) string {
			m := encValue.FindStringSubmatchIndex(s)
			return s[:m[2]] + flip(s[m[2]]) + s[m[2]+1:]
		}, KindDecrypt},
		{"encrypted values swapped", func(s string) string {
			vals := regexp.MustCompile(`(?m)^(\s+(password|user): )(ENC\[[^\]]+\])`).FindAllStringSubmatch(s, -1)
			if len(vals) != 2 {
				t.Fatalf("found %d values to swap", len(vals))
			}
			s = strings.Replace(s, vals[0][3], "SWAP", 1)
			s = strings.Replace(s, vals[1][3], vals[0][3], 1)
			return strings.Replace(s, "SWAP", vals[1][3], 1)
		}, KindDecrypt},
		{"encrypted value removed", func(s string) string {
			return regexp.MustCompile(`(?m)^\s+user: ENC\[[^\]]+\]\n`).ReplaceAllString(s, "")
		}, KindMAC},
		{"mac changed", func(s string) string {
			m := macLine.FindStringSubmatchIndex(s)
			return s[:m[4]] + flip(s[m[4]]) + s[m[4]+1:]
		}, KindMAC},
		{"lastmodified changed", func(s string) string {
			return regexp.MustCompile(`lastmodified: "?\d{4}`).ReplaceAllString(s, `lastmodified: "2001`)
		}, KindMAC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.mutate(enc)
			if bad == enc {
				t.Fatal("mutation changed nothing")
			}
			_, err := Decrypt("secret.yaml", []byte(bad), f.keys)
			if !IsKind(err, tc.kind) {
				t.Fatalf("got %v, want kind %v", err, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), "secret.yaml: ") {
				t.Errorf("error does not start with the file: %v", err)
			}
			checkNoSecret(t, err)
		})
	}

	t.Run("wrong key", func(t *testing.T) {
		other, _ := age.GenerateX25519Identity()
		kf := filepath.Join(t.TempDir(), "other.txt")
		writeFile(t, kf, other.String()+"\n")
		_, err := Decrypt("secret.yaml", []byte(enc), loadKeyFiles(t, kf))
		if !IsKind(err, KindNoKey) || !strings.Contains(err.Error(), f.rcpt) || !strings.Contains(err.Error(), kf) {
			t.Fatalf("got %v, want a no-key error naming the recipient and the key file", err)
		}
		checkNoSecret(t, err)
	})
	t.Run("no key", func(t *testing.T) {
		_, err := Decrypt("secret.yaml", []byte(enc), loadKeyFiles(t))
		if !IsKind(err, KindNoKey) || !strings.Contains(err.Error(), f.rcpt) {
			t.Fatalf("got %v", err)
		}
		if _, err := Decrypt("secret.yaml", []byte(enc), nil); !IsKind(err, KindNoKey) {
			t.Fatalf("nil keys: got %v", err)
		}
	})
	t.Run("pgp only", func(t *testing.T) {
		pgp := strings.Replace(enc, "\n    age:\n", "\n    pgp:\n", 1)
		if pgp == enc {
			t.Fatal("no age block found")
		}
		_, err := Decrypt("secret.yaml", []byte(pgp), f.keys)
		if !IsKind(err, KindUnsupportedKey) || !strings.Contains(err.Error(), "pgp") {
			t.Fatalf("got %v, want an unsupported-key error naming pgp", err)
		}
	})
	t.Run("ENC without metadata", func(t *testing.T) {
		stripped := enc[:strings.Index(enc, "\nsops:")+1]
		if !IsEncrypted([]byte(stripped)) {
			t.Error("IsEncrypted = false on ENC[ values")
		}
		if _, err := Decrypt("secret.yaml", []byte(stripped), f.keys); !IsKind(err, KindFormat) {
			t.Errorf("Decrypt: got %v", err)
		}
		if err := CheckPlain("secret.yaml", []byte(stripped)); !IsKind(err, KindStillEncrypted) {
			t.Errorf("CheckPlain: got %v", err)
		}
	})
}

func TestLoadKeysEnv(t *testing.T) {
	a, _ := age.GenerateX25519Identity()
	b, _ := age.GenerateX25519Identity()
	c, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	kf := filepath.Join(dir, "k.txt")
	writeFile(t, kf, b.String()+"\n")
	cfg := filepath.Join(dir, "cfg")
	if err := os.MkdirAll(filepath.Join(cfg, "sops", "age"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(cfg, "sops", "age", "keys.txt"), "# created\n"+c.String()+"\n")
	env := map[string]string{
		EnvAgeKey:         a.String() + " " + b.String(),
		EnvAgeKeyFile:     kf,
		"XDG_CONFIG_HOME": cfg,
	}
	k, err := LoadKeys(KeyOptions{LookupEnv: func(s string) (string, bool) { v, ok := env[s]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 4 || len(k.Sources()) != 3 {
		t.Errorf("got %d identities from %v", k.Len(), k.Sources())
	}
	env[EnvAgeKeyFile] = filepath.Join(dir, "missing.txt")
	if _, err := LoadKeys(KeyOptions{LookupEnv: func(s string) (string, bool) { v, ok := env[s]; return v, ok }}); err == nil {
		t.Error("a missing SOPS_AGE_KEY_FILE is not an error")
	}
	writeFile(t, kf, "AGE-SECRET-KEY-1NOTAKEY\n")
	_, err = LoadKeys(KeyOptions{Files: []string{kf}, LookupEnv: noEnv, UserConfigDir: dir})
	if err == nil || strings.Contains(err.Error(), "NOTAKEY") {
		t.Errorf("bad key file: got %v (must fail without quoting the line)", err)
	}
}

func TestFormatForPath(t *testing.T) {
	for p, want := range map[string]Format{"a.yaml": FormatYAML, "a.yml": FormatYAML, "a.json": FormatJSON, ".env": FormatDotenv, "a.ini": FormatINI, "a.txt": FormatBinary, "a": FormatBinary} {
		if got := FormatForPath(p); got != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
	}
}

// TestCheckedInFixture runs without the sops command: testdata/secret.sops.yaml
// was written by sops 3.13.3 from testdata/secret.plain.yaml with
// `--encrypted-regex '^(data|stringData)$'` for testdata/age-test-key.txt.
func TestCheckedInFixture(t *testing.T) {
	enc, err := os.ReadFile("testdata/secret.sops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := os.ReadFile("testdata/secret.plain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt("testdata/secret.sops.yaml", enc, loadKeyFiles(t, "testdata/age-test-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(yamlDocs(t, plain), yamlDocs(t, got)); d != "" {
		t.Errorf("(-plain +kgit):\n%s", d)
	}
	bad := bytes.Replace(enc, []byte("namespace: prod"), []byte("namespace: dev"), 1)
	if _, err := Decrypt("secret.sops.yaml", bad, loadKeyFiles(t, "testdata/age-test-key.txt")); !IsKind(err, KindMAC) {
		t.Errorf("tampered: got %v", err)
	}
}
