package gitsource

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// signRepo is a git repository whose commits the git command signs.
type signRepo struct {
	t   *testing.T
	dir string
	env []string
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("KGIT_REQUIRE_SIGNING_TOOLS") == "1" {
			t.Fatalf("%s not found (KGIT_REQUIRE_SIGNING_TOOLS=1)", name)
		}
		t.Skipf("%s not found", name)
	}
}

func newSignRepo(t *testing.T) *signRepo {
	t.Helper()
	needTool(t, "git")
	home := t.TempDir()
	r := &signRepo{t: t, dir: filepath.Join(home, "repo"), env: []string{
		"HOME=" + home, "GNUPGHOME=" + filepath.Join(home, "gnupg"), "PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com", "LANG=C",
	}}
	if err := os.MkdirAll(filepath.Join(home, "gnupg"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main", r.dir)
	return r
}

func (r *signRepo) cmd(name string, args ...string) string {
	r.t.Helper()
	c := exec.Command(name, args...)
	c.Dir = filepath.Dir(r.dir)
	if _, err := os.Stat(r.dir); err == nil {
		c.Dir = r.dir
	}
	c.Env = r.env
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		r.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func (r *signRepo) git(args ...string) string { r.t.Helper(); return r.cmd("git", args...) }

// sshKey makes an SSH key pair and returns the private key's path.
func (r *signRepo) sshKey(name, typ string) string {
	r.t.Helper()
	needTool(r.t, "ssh-keygen")
	p := filepath.Join(filepath.Dir(r.dir), name)
	r.cmd("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", name+"@example.com", "-f", p)
	return p
}

func (r *signRepo) pub(key string) string {
	b, err := os.ReadFile(key + ".pub")
	if err != nil {
		r.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// commit makes an empty commit, SSH-signed with key unless key is "".
func (r *signRepo) commit(msg, key string) string {
	r.t.Helper()
	if key == "" {
		r.git("commit", "-q", "--allow-empty", "-m", msg)
	} else {
		r.git("-c", "gpg.format=ssh", "-c", "user.signingkey="+key+".pub", "commit", "-q", "-S", "--allow-empty", "-m", msg)
	}
	return r.git("rev-parse", "HEAD")
}

func (r *signRepo) open() *git.Repository {
	repo, err := git.PlainOpen(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	return repo
}

func (r *signRepo) commitObject(h string) *object.Commit {
	c, err := r.open().CommitObject(plumbing.NewHash(h))
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func trust(t *testing.T, content string) *TrustedKeys {
	t.Helper()
	k := &TrustedKeys{}
	if err := k.Add("trusted", []byte(content)); err != nil {
		t.Fatal(err)
	}
	return k
}

func wantSigErr(t *testing.T, err, want error, contains ...string) {
	t.Helper()
	var se *SignatureError
	if !errors.Is(err, want) || !errors.As(err, &se) {
		t.Fatalf("got %v, want %v", err, want)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("%q does not say %q", err, c)
		}
	}
}

// tamper rewrites a commit's message keeping its signature, and returns the
// new object's SHA.
func (r *signRepo) tamper(h string) string {
	r.t.Helper()
	raw := r.git("cat-file", "commit", h)
	bad := strings.Replace(raw, "\n\nsigned", "\n\nevil", 1)
	if bad == raw {
		r.t.Fatal("nothing to tamper")
	}
	p := filepath.Join(filepath.Dir(r.dir), "tampered")
	if err := os.WriteFile(p, []byte(bad+"\n"), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return r.git("hash-object", "-w", "-t", "commit", p)
}

func TestVerifyCommitSSH(t *testing.T) {
	r := newSignRepo(t)
	alice := r.sshKey("alice", "ed25519")
	mallory := r.sshKey("mallory", "ed25519")
	rsaKey := r.sshKey("rsa", "rsa")
	signed := r.commit("signed by alice", alice)
	fp := strings.Fields(r.cmd("ssh-keygen", "-lf", alice+".pub"))[1]

	t.Run("authorized_keys", func(t *testing.T) {
		s, err := VerifyCommit(r.commitObject(signed), trust(t, r.pub(alice)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Format != "ssh" || s.KeyID != fp || s.Identity != "alice@example.com" || s.Object != signed {
			t.Errorf("signer %+v, want fingerprint %s", s, fp)
		}
	})
	t.Run("allowed_signers", func(t *testing.T) {
		s, err := VerifyCommit(r.commitObject(signed), trust(t, `alice@example.com,a@b namespaces="git" `+r.pub(alice)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Identity != "alice@example.com,a@b" {
			t.Errorf("identity %q", s.Identity)
		}
		_, err = VerifyCommit(r.commitObject(signed), trust(t, `alice@example.com namespaces="file" `+r.pub(alice)+"\n"))
		wantSigErr(t, err, ErrUnknownKey, fp, "git namespace")
	})
	t.Run("rsa-sha2-512", func(t *testing.T) {
		h := r.commit("signed with rsa", rsaKey)
		if _, err := VerifyCommit(r.commitObject(h), trust(t, r.pub(rsaKey))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		h := r.commit("unsigned", "")
		_, err := VerifyCommit(r.commitObject(h), trust(t, r.pub(alice)))
		wantSigErr(t, err, ErrUnsigned, "commit "+h[:12], "unsigned")
	})
	t.Run("unknown key", func(t *testing.T) {
		h := r.commit("signed by mallory", mallory)
		malloryFP := strings.Fields(r.cmd("ssh-keygen", "-lf", mallory+".pub"))[1]
		_, err := VerifyCommit(r.commitObject(h), trust(t, r.pub(alice)))
		wantSigErr(t, err, ErrUnknownKey, "commit "+h[:12], malloryFP)
	})
	t.Run("tampered", func(t *testing.T) {
		bad := r.tamper(signed)
		_, err := VerifyCommit(r.commitObject(bad), trust(t, r.pub(alice)))
		wantSigErr(t, err, ErrBadSignature, "commit "+bad[:12], fp)
	})
	t.Run("ssh-rsa SHA-1 refused", func(t *testing.T) {
		c := r.commitObject(r.commit("unsigned base", ""))
		pk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := ssh.NewSignerFromKey(pk)
		c.PGPSignature = sha1SSHSignature(t, c, signer.(ssh.AlgorithmSigner))
		_, err = VerifyCommit(c, trust(t, string(ssh.MarshalAuthorizedKey(signer.PublicKey()))))
		wantSigErr(t, err, ErrBadSignature, "SHA-1")
	})
}

// sha1SSHSignature signs c as git would, but with the legacy ssh-rsa
// (SHA-1) algorithm that OpenSSH refuses.
func sha1SSHSignature(t *testing.T, c *object.Commit, signer ssh.AlgorithmSigner) string {
	t.Helper()
	o := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(o); err != nil {
		t.Fatal(err)
	}
	payload, _ := readAll(o)
	h := sha512.Sum512(payload)
	signed := ssh.Marshal(struct {
		Magic     [6]byte
		Namespace string
		Reserved  string
		Hash      string
		Digest    string
	}{[6]byte{'S', 'S', 'H', 'S', 'I', 'G'}, "git", "", "sha512", string(h[:])})
	sig, err := signer.SignWithAlgorithm(rand.Reader, signed, ssh.KeyAlgoRSA)
	if err != nil {
		t.Fatal(err)
	}
	return string(sshsig.Armor(&sshsig.Signature{Version: 1, PublicKey: signer.PublicKey(), Namespace: "git", HashAlgorithm: sshsig.HashSHA512, Signature: sig}))
}

func TestVerifyTagAndModes(t *testing.T) {
	r := newSignRepo(t)
	alice := r.sshKey("alice", "ed25519")
	keys := trust(t, r.pub(alice))
	head := r.commit("signed", alice)
	r.git("-c", "gpg.format=ssh", "-c", "user.signingkey="+alice+".pub", "tag", "-s", "v1", "-m", "release v1")
	r.git("tag", "-a", "v1-unsigned", "-m", "unsigned tag")
	r.git("tag", "v1-light")
	repo := r.open()
	s, err := VerifyTag(repo, "v1", keys)
	if err != nil {
		t.Fatal(err)
	}
	if s.Object != "tag v1" || s.Identity != "alice@example.com" {
		t.Errorf("signer %+v", s)
	}
	_, err = VerifyTag(repo, "v1-unsigned", keys)
	wantSigErr(t, err, ErrUnsigned, "tag v1-unsigned")
	_, err = VerifyTag(repo, "v1-light", keys)
	wantSigErr(t, err, ErrUnsigned, "tag v1-light", "lightweight")
	if _, err := VerifyTag(repo, "nope", keys); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("missing tag: %v", err)
	}

	// tag-and-head: an unsigned commit under a signed tag is refused.
	unsigned := r.commit("unsigned", "")
	r.git("-c", "gpg.format=ssh", "-c", "user.signingkey="+alice+".pub", "tag", "-s", "v2", "-m", "release v2")
	repo = r.open()
	c := r.commitObject(unsigned)
	if _, err := Verify(repo, ModeTag, "v2", c, "", keys); err != nil {
		t.Errorf("tag mode: %v", err)
	}
	_, err = Verify(repo, ModeTagAndHead, "v2", c, "", keys)
	wantSigErr(t, err, ErrUnsigned, unsigned[:12])
	signers, err := Verify(repo, ModeTagAndHead, "v1", r.commitObject(head), "", keys)
	if err != nil || len(signers) != 2 || signers[0].Object != head {
		t.Errorf("tag-and-head: %v %+v", err, signers)
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Error("ParseMode accepts anything")
	}
	if m, _ := ParseMode("Strict"); m != ModeStrict {
		t.Errorf("ParseMode(Strict) = %q", m)
	}
}

func TestVerifyRangeStrict(t *testing.T) {
	r := newSignRepo(t)
	alice := r.sshKey("alice", "ed25519")
	keys := trust(t, r.pub(alice))
	base := r.commit("deployed", alice)
	sneaky := r.commit("unsigned in between", "")
	top := r.commit("signed on top", alice)
	repo := r.open()

	if _, err := Verify(repo, ModeHead, "", r.commitObject(top), base, keys); err != nil {
		t.Fatalf("head mode lets the top through: %v", err)
	}
	_, err := VerifyRange(repo, base, top, keys)
	wantSigErr(t, err, ErrUnsigned, "commit "+sneaky[:12])
	_, err = Verify(repo, ModeStrict, "", r.commitObject(top), base, keys)
	wantSigErr(t, err, ErrUnsigned, sneaky[:12])

	// From the unsigned one on (it was deployed), the rest is signed.
	signers, err := VerifyRange(repo, sneaky, top, keys)
	if err != nil || len(signers) != 1 || signers[0].Object != top {
		t.Errorf("from the deployed commit: %v %+v", err, signers)
	}
	// Same commit: only it is checked.
	if _, err := VerifyRange(repo, top, top, keys); err != nil {
		t.Error(err)
	}
	// No previous deployment: the whole history, which has an unsigned commit.
	_, err = VerifyRange(repo, "", top, keys)
	wantSigErr(t, err, ErrUnsigned, sneaky[:12])

	// A merged side branch with an unsigned commit, under a signed merge.
	r.git("checkout", "-q", "-b", "side", base)
	side := r.commit("unsigned on a side branch", "")
	r.git("checkout", "-q", "main")
	r.git("-c", "gpg.format=ssh", "-c", "user.signingkey="+alice+".pub", "merge", "-q", "-S", "--no-ff", "-m", "signed merge", "side")
	merge := r.git("rev-parse", "HEAD")
	_, err = VerifyRange(r.open(), top, merge, keys)
	wantSigErr(t, err, ErrUnsigned, side[:12])

	// A deployed commit that is not an ancestor: history was rewritten (a force-push).
	// Every commit the new head brings, back to where the histories meet, is checked:
	// a signed commit on top of a rewritten unsigned one is refused...
	r.git("checkout", "-q", "-b", "rewritten", base)
	rewrittenUnsigned := r.commit("rewritten, unsigned", "")
	other := r.commit("rewritten, signed on top", alice)
	_, err = VerifyRange(r.open(), top, other, keys)
	wantSigErr(t, err, ErrUnsigned, rewrittenUnsigned[:12])
	// ...and an amended, signed commit in place of the deployed one is accepted.
	r.git("checkout", "-q", "-b", "amended", base)
	amended := r.commit("amended, signed", alice)
	signers, err = VerifyRange(r.open(), top, amended, keys)
	if err != nil || len(signers) != 1 || signers[0].Object != amended {
		t.Errorf("a signed rewrite of the deployed commit: %v %+v", err, signers)
	}
}

func TestVerifyCommitPGPGnuPG(t *testing.T) {
	needTool(t, "gpg")
	r := newSignRepo(t)
	t.Cleanup(func() {
		c := exec.Command("gpgconf", "--kill", "gpg-agent")
		c.Env = r.env
		_ = c.Run()
	})
	for _, who := range []string{"Alice <alice@example.com>", "Mallory <mallory@example.com>"} {
		r.cmd("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", who, "ed25519", "sign", "never")
	}
	keyID := func(email string) string {
		for _, line := range strings.Split(r.cmd("gpg", "--with-colons", "--list-keys", email), "\n") {
			if f := strings.Split(line, ":"); f[0] == "pub" {
				return f[4]
			}
		}
		t.Fatalf("no key for %s", email)
		return ""
	}
	alice, mallory := keyID("alice@example.com"), keyID("mallory@example.com")
	keys := trust(t, r.cmd("gpg", "--armor", "--export", "alice@example.com"))
	sign := func(msg, key string) string {
		r.git("-c", "user.signingkey="+key, "commit", "-q", "-S", "--allow-empty", "-m", msg)
		return r.git("rev-parse", "HEAD")
	}
	signed := sign("signed by alice", alice)
	s, err := VerifyCommit(r.commitObject(signed), keys)
	if err != nil {
		t.Fatal(err)
	}
	if s.Format != "openpgp" || s.KeyID != alice || s.Identity != "Alice <alice@example.com>" {
		t.Errorf("signer %+v, want key %s", s, alice)
	}
	h := sign("signed by mallory", mallory)
	_, err = VerifyCommit(r.commitObject(h), keys)
	wantSigErr(t, err, ErrUnknownKey, h[:12], mallory)
	bad := r.tamper(signed)
	_, err = VerifyCommit(r.commitObject(bad), keys)
	wantSigErr(t, err, ErrBadSignature, bad[:12], alice)

	// Both kinds of key in one --trusted-keys set.
	both := &TrustedKeys{}
	if err := both.Add("pgp", []byte(r.cmd("gpg", "--armor", "--export"))); err != nil {
		t.Fatal(err)
	}
	if both.Len() != 2 {
		t.Errorf("two armored keys exported together: %d entities", both.Len())
	}
	if _, err := VerifyCommit(r.commitObject(h), both); err != nil {
		t.Error(err)
	}
}

// TestVerifyCommitPGPGoCrypto signs in Go, so OpenPGP is covered where gpg
// is not installed.
func TestVerifyCommitPGPGoCrypto(t *testing.T) {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	entity, err := openpgp.NewEntity("Bob", "", "bob@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Bob", Email: "bob@example.com", When: time.Now()}
	h, err := wt.Commit("signed in Go", &git.CommitOptions{AllowEmptyCommits: true, Author: sig, SignKey: entity})
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, _ := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	c, _ := repo.CommitObject(h)
	s, err := VerifyCommit(c, trust(t, pub.String()))
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID != strings.ToUpper(entity.PrimaryKey.KeyIdString()) || s.Identity != "Bob <bob@example.com>" {
		t.Errorf("signer %+v", s)
	}
	_, err = VerifyCommit(c, &TrustedKeys{})
	wantSigErr(t, err, ErrUnknownKey, s.KeyID)
	c.Message = "changed"
	_, err = VerifyCommit(c, trust(t, pub.String()))
	wantSigErr(t, err, ErrBadSignature)
}

func TestTrustedKeysContent(t *testing.T) {
	const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	for name, content := range map[string]string{
		"authorized_keys":             ed + " alice@laptop\n",
		"authorized_keys options":     `restrict,command="true" ` + ed + "\n",
		"allowed_signers":             "alice@example.com " + ed + "\n",
		"allowed_signers options":     `alice@example.com namespaces="git",valid-after="20200101" ` + ed + "\n",
		"comments and blanks":         "# keys\n\n" + ed + "\n",
		"allowed_signers two options": `* valid-before="20990101Z",namespaces="git,file" ` + ed + "\n",
	} {
		k := &TrustedKeys{}
		if err := k.Add(name, []byte(content)); err != nil || k.Len() != 1 {
			t.Errorf("%s: %v (%d keys)", name, err, k.Len())
		}
	}
	for name, content := range map[string]string{
		"empty":       "# nothing\n",
		"garbage":     "not a key\n",
		"private pgp": "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n-----END PGP PRIVATE KEY BLOCK-----\n",
		"bad option":  `alice@example.com frobnicate="1" ` + ed + "\n",
		"bad base64":  "ssh-ed25519 !!!\n",
	} {
		if err := (&TrustedKeys{}).Add(name, []byte(content)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
	}
	if _, err := LoadTrustedKeys(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file is not an error")
	}
}
