package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/cmd/kgit/cli"
)

// tool returns the path of a program the trust tests need: they fail when it is absent
// and env (KGIT_REQUIRE_SIGNING_TOOLS, KGIT_REQUIRE_SOPS) says it must be there, and
// skip otherwise.
func tool(t *testing.T, name, env string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if cache := os.Getenv("KGIT_TOOLS_CACHE"); cache != "" {
			p, err = exec.LookPath(filepath.Join(cache, "bin", name))
		} else if home, herr := os.UserHomeDir(); herr == nil {
			p, err = exec.LookPath(filepath.Join(home, ".cache", "kgit-tools", "bin", name))
		}
	}
	if err != nil {
		if os.Getenv(env) == "1" {
			t.Fatalf("%s is not installed and %s=1", name, env)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// sshKeys makes an ed25519 key per name (NAME@example.com) in a new folder, and an
// allowed_signers file that trusts the first one only.
func sshKeys(t *testing.T, keygen string, names ...string) (dir, allowed string) {
	t.Helper()
	dir = t.TempDir()
	for _, n := range names {
		run(t, dir, keygen, "-q", "-t", "ed25519", "-N", "", "-C", n+"@example.com", "-f", n)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, names[0]+".pub"))
	allowed = filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte(names[0]+"@example.com "+string(pub)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, allowed
}

const trustedPod = `apiVersion: v1
kind: Pod
metadata: {name: solo}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: solo:%s, command: [sleep, "300"]}]
`

// Signed commits: with --verify-signatures, a commit signed by a trusted SSH key is
// deployed; an unsigned one, or one signed by another key, is exit 3 naming the commit
// and why, and changes nothing; strict catches an unsigned commit under a signed one.
func TestSignedCommits(t *testing.T) {
	keygen := tool(t, "ssh-keygen", "KGIT_REQUIRE_SIGNING_TOOLS")
	e := newRolloutEnvB(t)
	e.app = "signed"
	keys, allowed := sshKeys(t, keygen, "alice", "mallory")
	e.git("config", "gpg.format", "ssh")
	commit := func(version, key string) {
		if err := os.WriteFile(filepath.Join(e.repo, "pod.yaml"), []byte(strings.ReplaceAll(trustedPod, "%s", version)), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", "pod.yaml")
		if key == "" {
			e.git("commit", "-qm", version)
			return
		}
		e.git("-c", "user.signingkey="+filepath.Join(keys, key), "commit", "-S", "-qm", version)
	}
	verify := []string{"--verify-signatures", "head", "--trusted-keys", allowed}

	commit("v1", "alice")
	if code, errs := e.kgit(append([]string{"sync"}, verify...)...); code != 0 {
		t.Fatalf("sync of a commit signed by a trusted key: exit %d\n%s", code, errs)
	}
	commit("v2", "")
	code, errs := e.kgit(append([]string{"sync"}, verify...)...)
	if code != 3 || !strings.Contains(errs, "refusing commit") || !strings.Contains(errs, "unsigned") {
		t.Errorf("sync of an unsigned commit: exit %d, want 3 naming it unsigned\n%s", code, errs)
	}
	if code, errs := e.kgit(append([]string{"diff"}, verify...)...); code != 3 {
		t.Errorf("diff of an unsigned commit: exit %d, want 3\n%s", code, errs)
	}
	commit("v3", "mallory")
	code, errs = e.kgit(append([]string{"sync"}, verify...)...)
	if code != 3 || !strings.Contains(errs, "unknown key") || !strings.Contains(errs, "SHA256:") {
		t.Errorf("sync of a commit signed by an unknown key: exit %d, want 3 with the key's fingerprint\n%s", code, errs)
	}
	var out bytes.Buffer
	cli.Main([]string{"get", "pods", "--app", "signed", "-o", "yaml"}, &out, &bytes.Buffer{})
	if !strings.Contains(out.String(), "image: solo:v1") {
		t.Errorf("after the refusals the pod must still run v1:\n%s", out.String())
	}
	// strict: a commit signed by alice on top of the unsigned and mallory's commits is
	// refused, since the commits between the deployed one and it are not all signed
	commit("v4", "alice")
	if code, errs := e.kgit("sync", "--verify-signatures", "strict", "--trusted-keys", allowed); code != 3 || !strings.Contains(errs, "refusing commit") || !strings.Contains(errs, "unknown key") { // mallory's v3, the first met walking back
		t.Errorf("strict sync over an unsigned commit: exit %d, want 3\n%s", code, errs)
	}
	// head accepts it: only the deployed commit is checked
	if code, errs := e.kgit(append([]string{"sync"}, verify...)...); code != 0 {
		t.Errorf("head sync of a signed commit: exit %d\n%s", code, errs)
	}
	// rollout history says who signed each revision's commit
	dep := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: main, image: \"web:%s\", command: [sleep, \"1\"]}]}\n"
	for _, v := range []struct{ version, key string }{{"1", "alice"}, {"2", ""}} {
		if err := os.WriteFile(filepath.Join(e.repo, "web.yaml"), []byte(strings.ReplaceAll(dep, "%s", v.version)), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", "web.yaml")
		if v.key == "" {
			e.git("commit", "-qm", "web "+v.version)
		} else {
			e.git("-c", "user.signingkey="+filepath.Join(keys, v.key), "commit", "-S", "-qm", "web "+v.version)
		}
		if code, errs := e.kgit("sync"); code != 0 {
			t.Fatalf("sync of web %s: exit %d\n%s", v.version, code, errs)
		}
	}
	var hist bytes.Buffer
	if code := cli.Main([]string{"rollout", "history", "deploy/web", "--repo", e.repo, "--app", "signed", "--trusted-keys", allowed}, &hist, &bytes.Buffer{}); code != 0 ||
		!strings.Contains(hist.String(), "SIGNED BY") || !strings.Contains(hist.String(), "ssh SHA256:") || !strings.Contains(hist.String(), "not by a trusted key") {
		t.Errorf("rollout history with --trusted-keys: exit %d\n%s", code, hist.String())
	}
	// the environment variable is the flag's default; a mode without keys is invalid
	t.Setenv("KGIT_VERIFY_SIGNATURES", "head")
	if code, errs := e.kgit("sync"); code != 3 || !strings.Contains(errs, "--trusted-keys") {
		t.Errorf("KGIT_VERIFY_SIGNATURES without keys: exit %d, want 3\n%s", code, errs)
	}
}

// SOPS: a Secret encrypted with the real sops command for an age key is decrypted in
// memory: the pod gets the value, and no output, diff, event or file of the state
// directory holds it; a wrong key or a tampered file is exit 3 and changes nothing.
func TestSOPSSecret(t *testing.T) {
	sopsCmd := tool(t, "sops", "KGIT_REQUIRE_SOPS")
	keygen := tool(t, "age-keygen", "KGIT_REQUIRE_SOPS")
	e := newRolloutEnvB(t)
	e.app = "sealed"
	keys := t.TempDir()
	run(t, keys, keygen, "-o", "key.txt")
	run(t, keys, keygen, "-o", "other.txt")
	pub := strings.TrimSpace(run(t, keys, keygen, "-y", "key.txt"))
	const value = "s3cr3t-Valu3"
	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: " + value + "}\n"
	plain := filepath.Join(e.repo, "secret.yaml")
	if err := os.WriteFile(plain, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, e.repo, sopsCmd, "encrypt", "--age", pub, "--encrypted-regex", "^(data|stringData)$", "-i", "secret.yaml")
	enc, _ := os.ReadFile(plain)
	if strings.Contains(string(enc), value) {
		t.Fatal("sops left the value in the file")
	}
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: reader}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: reader:1\n    command: [sh, -c, 'echo \"password=$PASSWORD\"; exec sleep 300']\n    env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}]\n"
	if err := os.WriteFile(filepath.Join(e.repo, "pod.yaml"), []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("add", ".")
	e.git("commit", "-qm", "sealed")

	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keys, "other.txt"))
	if code, errs := e.kgit("sync"); code != 3 || !strings.Contains(errs, "secret.yaml") {
		t.Errorf("sync with the wrong age key: exit %d, want 3 naming the file\n%s", code, errs)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keys, "key.txt"))
	code, errs := e.kgit("sync")
	if code != 0 {
		t.Fatalf("sync with the key: exit %d\n%s", code, errs)
	}
	seen := errs
	for _, args := range [][]string{{"get", "secrets", "-o", "yaml"}, {"describe", "secret/creds"}, {"render"}, {"events"}, {"get", "pods", "-o", "json"}} {
		var out, errb bytes.Buffer
		cli.Main(append(args, "--repo", e.repo, "--app", "sealed"), &out, &errb)
		seen += out.String() + errb.String()
	}
	// a commit that needed a file decrypted never leaves a steady-sync verdict, not even
	// after a sync that changed nothing
	if code, errs := e.kgit("sync"); code != 0 {
		t.Fatalf("a second sync with the key: exit %d\n%s", code, errs)
	}
	if files, _ := filepath.Glob(filepath.Join(os.Getenv("KGIT_STATE_DIR"), "steady", "*")); len(files) > 0 {
		t.Errorf("a sync of decrypted files left a verdict: %v", files)
	}
	var logs bytes.Buffer
	for range 50 {
		logs.Reset()
		cli.Main([]string{"logs", "reader", "--app", "sealed"}, &logs, &bytes.Buffer{})
		if strings.Contains(logs.String(), "password="+value) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "password="+value) {
		t.Errorf("the pod did not get the decrypted value: %q", logs.String())
	}
	// a rotated value: the diff says it changed, without it
	run(t, e.repo, sopsCmd, "set", "secret.yaml", `["stringData"]["password"]`, `"n3w-Valu3"`)
	e.git("commit", "-qam", "rotate")
	var diff bytes.Buffer
	if code := cli.Main([]string{"diff", "--repo", e.repo, "--app", "sealed"}, &diff, &bytes.Buffer{}); code != 1 || !strings.Contains(diff.String(), "(secret value, changed)") {
		t.Errorf("diff of a rotated encrypted value: exit %d\n%s", code, diff.String())
	}
	seen += diff.String()
	for _, v := range []string{value, "n3w-Valu3"} {
		if strings.Contains(seen, v) {
			t.Errorf("a decrypted value reached kgit's output:\n%s", seen)
		}
	}
	_ = filepath.Walk(os.Getenv("KGIT_STATE_DIR"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(value)) || bytes.Contains(data, []byte("n3w-Valu3")) {
				t.Errorf("%s holds a decrypted value", p)
			}
		}
		return nil
	})
	// a tampered file: exit 3
	data, _ := os.ReadFile(plain)
	tampered := strings.Replace(string(data), "ENC[AES256_GCM,data:", "ENC[AES256_GCM,data:AA", 1)
	if err := os.WriteFile(plain, []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("commit", "-qam", "tampered")
	if code, errs := e.kgit("sync"); code != 3 || !strings.Contains(errs, "secret.yaml") {
		t.Errorf("sync of a tampered file: exit %d, want 3\n%s", code, errs)
	}
}

// Strict mode after a force-push: the deployed commit is no longer an ancestor of the
// head, and every commit the head brings, back to where the histories meet, is checked
// (a signed commit on top of a rewritten unsigned one is refused; a signed amend is
// deployed). Also through the CLI: rollback --to an unsigned commit and the tag modes.
func TestSignedCommitsAfterForcePush(t *testing.T) {
	keygen := tool(t, "ssh-keygen", "KGIT_REQUIRE_SIGNING_TOOLS")
	e := newRolloutEnvB(t)
	e.app = "forced"
	keys, allowed := sshKeys(t, keygen, "alice")
	e.git("config", "gpg.format", "ssh")
	e.git("config", "user.signingkey", filepath.Join(keys, "alice"))
	commit := func(version string, signed bool) string {
		if err := os.WriteFile(filepath.Join(e.repo, "pod.yaml"), []byte(strings.ReplaceAll(trustedPod, "%s", version)), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", "pod.yaml")
		if signed {
			e.git("commit", "-S", "-qm", version)
		} else {
			e.git("commit", "-qm", version)
		}
		return strings.TrimSpace(run(t, e.repo, "git", "rev-parse", "HEAD"))
	}
	image := func() string {
		var out bytes.Buffer
		cli.Main([]string{"get", "pods", "--app", e.app, "-o", "jsonpath={.items[*].spec.containers[0].image}"}, &out, &bytes.Buffer{})
		return out.String()
	}
	strict := []string{"--verify-signatures", "strict", "--trusted-keys", allowed}

	base := commit("v1", true)
	commit("v2", true)
	if code, errs := e.kgit(append([]string{"sync"}, strict...)...); code != 0 {
		t.Fatalf("strict sync of signed commits: exit %d\n%s", code, errs)
	}
	// force-push: v2 is replaced by an unsigned commit under a signed one
	e.git("reset", "-q", "--hard", base)
	unsigned := commit("v3", false)
	commit("v4", true)
	code, errs := e.kgit(append([]string{"sync"}, strict...)...)
	if code != 3 || !strings.Contains(errs, "refusing commit") || !strings.Contains(errs, unsigned[:12]) || !strings.Contains(errs, "unsigned") {
		t.Errorf("strict sync over a rewritten unsigned commit: exit %d, want 3 naming %.12s\n%s", code, unsigned, errs)
	}
	if img := image(); img != "solo:v2" {
		t.Errorf("after the refusal the pod runs %q, want solo:v2", img)
	}
	// rollback --to the unsigned commit is refused too, whatever the mode
	if code, errs := e.kgit("rollback", "--to", unsigned, "--verify-signatures", "head", "--trusted-keys", allowed); code != 3 || !strings.Contains(errs, "unsigned") {
		t.Errorf("rollback --to an unsigned commit: exit %d, want 3\n%s", code, errs)
	}
	// a signed amend of the deployed commit is deployed
	e.git("reset", "-q", "--hard", base)
	commit("v5", true)
	if code, errs := e.kgit(append([]string{"sync"}, strict...)...); code != 0 {
		t.Errorf("strict sync of a signed rewrite: exit %d\n%s", code, errs)
	}
	if img := image(); img != "solo:v5" {
		t.Errorf("after the signed rewrite the pod runs %q, want solo:v5", img)
	}
	// tag mode: a signed tag is deployed, a lightweight (unsigned) one is refused
	e.git("tag", "-s", "-m", "release 6", "r6")
	commit("v7", true)
	e.git("tag", "r7")
	tag := []string{"--verify-signatures", "tag", "--trusted-keys", allowed}
	if code, errs := e.kgit(append([]string{"sync", "--ref", "r7"}, tag...)...); code != 3 || !strings.Contains(errs, "r7") {
		t.Errorf("tag mode, an unsigned tag: exit %d, want 3 naming it\n%s", code, errs)
	}
	if code, errs := e.kgit(append([]string{"sync", "--ref", "r6"}, tag...)...); code != 0 {
		t.Errorf("tag mode, a signed tag: exit %d\n%s", code, errs)
	}
	// rollback --to a commit, not a tag, in a tag mode: refused, saying a tag is wanted
	if code, errs := e.kgit(append([]string{"rollback", "--to", base}, tag...)...); code != 3 || !strings.Contains(errs, "signed tag") {
		t.Errorf("tag mode, rollback --to a SHA: exit %d, want 3 asking for a tag\n%s", code, errs)
	}
}

// SOPS as a Kustomize input: a kustomization lists an encrypted Secret among its
// resources; kustomize reads it decrypted (in memory), the pod gets the value, and
// render, diff and get never show it; without the key, exit 3 naming the file.
func TestSOPSKustomizeInput(t *testing.T) {
	sopsCmd := tool(t, "sops", "KGIT_REQUIRE_SOPS")
	keygen := tool(t, "age-keygen", "KGIT_REQUIRE_SOPS")
	e := newRolloutEnvB(t)
	e.app = "ksealed"
	keys := t.TempDir()
	run(t, keys, keygen, "-o", "key.txt")
	pub := strings.TrimSpace(run(t, keys, keygen, "-y", "key.txt"))
	const value = "k5tomiz3d-Valu3"
	files := map[string]string{
		"secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: " + value + "}\n",
		"pod.yaml":           "apiVersion: v1\nkind: Pod\nmetadata: {name: reader}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: reader:1\n    command: [sh, -c, 'echo \"password=$PASSWORD\"; exec sleep 300']\n    env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}]\n",
		"kustomization.yaml": "resources: [secret.yaml, pod.yaml]\nlabels:\n- pairs: {team: blue}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(e.repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, e.repo, sopsCmd, "encrypt", "--age", pub, "--encrypted-regex", "^(data|stringData)$", "-i", "secret.yaml")
	e.git("add", ".")
	e.git("commit", "-qm", "sealed, through kustomize")

	t.Setenv("SOPS_AGE_KEY_FILE", "")
	t.Setenv("SOPS_AGE_KEY", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no keys.txt of sops' own
	if code, errs := e.kgit("sync"); code != 3 || !strings.Contains(errs, "secret.yaml") {
		t.Errorf("sync without the age key: exit %d, want 3 naming the file\n%s", code, errs)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keys, "key.txt"))
	code, seen := e.kgit("sync")
	if code != 0 {
		t.Fatalf("sync with the key: exit %d\n%s", code, seen)
	}
	for _, args := range [][]string{{"get", "secrets", "-o", "yaml"}, {"describe", "secret/creds"}, {"render"}, {"diff"}, {"get", "pods", "--show-labels"}} {
		var out, errb bytes.Buffer
		cli.Main(append(args, "--repo", e.repo, "--app", e.app), &out, &errb)
		seen += out.String() + errb.String()
	}
	if strings.Contains(seen, value) {
		t.Errorf("a decrypted value reached kgit's output:\n%s", seen)
	}
	if !strings.Contains(seen, "team=blue") {
		t.Errorf("the kustomization's labels are not on the pod:\n%s", seen)
	}
	var logs bytes.Buffer
	for range 50 {
		logs.Reset()
		cli.Main([]string{"logs", "reader", "--app", e.app}, &logs, &bytes.Buffer{})
		if strings.Contains(logs.String(), "password="+value) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "password="+value) {
		t.Errorf("the pod did not get the decrypted value: %q", logs.String())
	}
}

// OpenPGP through the CLI, and rollout undo: a commit signed with gpg by a key of an
// armored --trusted-keys file is deployed and rollout history names its signer; an undo
// to a revision whose commit is unsigned is exit 3 and changes nothing; an undo to a
// signed one goes through.
func TestSignedCommitsOpenPGPAndUndo(t *testing.T) {
	gpg := tool(t, "gpg", "KGIT_REQUIRE_SIGNING_TOOLS")
	e := newRolloutEnvB(t)
	e.app = "pgp"
	home := t.TempDir()
	t.Setenv("GNUPGHOME", home)
	t.Cleanup(func() { _ = exec.Command("gpgconf", "--kill", "gpg-agent").Run() })
	run(t, home, gpg, "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Alice <alice@example.com>", "ed25519", "sign", "never")
	armored := filepath.Join(home, "alice.asc")
	if err := os.WriteFile(armored, []byte(run(t, home, gpg, "--armor", "--export", "alice@example.com")), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git("config", "user.signingkey", "alice@example.com")
	dep := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: main, image: \"web:%s\", command: [sleep, \"1\"]}]}\n"
	commit := func(version string, signed bool) {
		if err := os.WriteFile(filepath.Join(e.repo, "web.yaml"), []byte(strings.ReplaceAll(dep, "%s", version)), 0o644); err != nil {
			t.Fatal(err)
		}
		e.git("add", "web.yaml")
		if signed {
			e.git("commit", "-S", "-qm", "web "+version)
		} else {
			e.git("commit", "-qm", "web "+version)
		}
	}
	image := func() string {
		var out bytes.Buffer
		cli.Main([]string{"get", "deploy", "web", "--app", e.app, "-o", "jsonpath={.spec.template.spec.containers[0].image}"}, &out, &bytes.Buffer{})
		return out.String()
	}
	verify := []string{"--verify-signatures", "head", "--trusted-keys", armored}

	commit("1", true)
	if code, errs := e.kgit(append([]string{"sync"}, verify...)...); code != 0 {
		t.Fatalf("sync of a gpg-signed commit: exit %d\n%s", code, errs)
	}
	commit("2", false)
	if code, errs := e.kgit(append([]string{"sync"}, verify...)...); code != 3 || !strings.Contains(errs, "unsigned") {
		t.Errorf("sync of an unsigned commit: exit %d, want 3\n%s", code, errs)
	}
	if code, errs := e.kgit("sync"); code != 0 { // deployed without verification: revision 2
		t.Fatalf("sync without verification: exit %d\n%s", code, errs)
	}
	commit("3", true)
	if code, errs := e.kgit(append([]string{"sync"}, verify...)...); code != 0 {
		t.Fatalf("sync of a gpg-signed commit: exit %d\n%s", code, errs)
	}
	var hist bytes.Buffer
	if code := cli.Main([]string{"rollout", "history", "deploy/web", "--repo", e.repo, "--app", e.app, "--trusted-keys", armored}, &hist, &bytes.Buffer{}); code != 0 ||
		!strings.Contains(hist.String(), "openpgp") || !strings.Contains(hist.String(), "alice@example.com") {
		t.Errorf("rollout history names the OpenPGP signer: exit %d\n%s", code, hist.String())
	}
	if code, errs := e.kgit(append([]string{"rollout", "undo", "deploy/web"}, verify...)...); code != 3 || !strings.Contains(errs, "unsigned") {
		t.Errorf("rollout undo to an unsigned revision: exit %d, want 3\n%s", code, errs)
	}
	if img := image(); img != "web:3" {
		t.Errorf("after the refused undo the Deployment has %q, want web:3", img)
	}
	if code, errs := e.kgit(append([]string{"rollout", "undo", "deploy/web", "--to-revision", "1"}, verify...)...); code != 0 {
		t.Errorf("rollout undo to a signed revision: exit %d\n%s", code, errs)
	}
	if img := image(); img != "web:1" {
		t.Errorf("after the undo the Deployment has %q, want web:1", img)
	}
}
