package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/spf13/pflag"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"
	"kgit.dev/kgit/manifest/sops"
)

// trustFlags are the flags of every command that deploys a commit (sync, diff,
// rollback, rollout undo): which signatures a commit needs, and the keys that decrypt
// its SOPS files.
type trustFlags struct {
	verify      string
	trustedKeys []string
	ageKeyFiles []string

	loaded bool
	mode   gitsource.Mode
	keys   *gitsource.TrustedKeys
	age    *sops.Keys
}

func (t *trustFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&t.verify, "verify-signatures", "", "deploy only commits signed by a trusted key: head, tag, tag-and-head or strict (default: $KGIT_VERIFY_SIGNATURES, or off)")
	fl.StringArrayVar(&t.trustedKeys, "trusted-keys", nil, "file of trusted public keys: armored OpenPGP keys, authorized_keys or allowed_signers lines (repeatable)")
	fl.StringArrayVar(&t.ageKeyFiles, "age-key-file", nil, "age identities that decrypt SOPS files (repeatable; also $SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY and sops' own keys.txt)")
}

// load reads the mode and the keys, once per command.
func (t *trustFlags) load() error {
	if t.loaded {
		return nil
	}
	v := t.verify
	if v == "" {
		v = os.Getenv("KGIT_VERIFY_SIGNATURES")
	}
	mode, err := gitsource.ParseMode(v)
	if err != nil {
		return invalid("%v", err)
	}
	t.mode = mode
	if mode != gitsource.ModeOff {
		if len(t.trustedKeys) == 0 {
			return invalid("--verify-signatures=%s needs --trusted-keys FILE", mode)
		}
		if t.keys, err = gitsource.LoadTrustedKeys(t.trustedKeys...); err != nil {
			return invalid("--trusted-keys: %v", err)
		}
	}
	if t.age, err = sops.LoadKeys(sops.KeyOptions{Files: t.ageKeyFiles}); err != nil {
		return invalid("%v", err)
	}
	t.loaded = true
	return nil
}

// verifyCommit refuses (exit 3, nothing changed) a commit whose signatures the mode
// does not accept. deployed lists the commits the app runs now: strict verifies every
// commit the new one brings that the newest of them did not have (after a force-push
// too). With nothing deployed yet, or for a target an operator named (rollback, undo:
// deployed is nil), strict verifies the commit itself, as head.
func (t *trustFlags) verifyCommit(repo *gitsource.Repo, ref string, c *gitsource.Commit, deployed func() []string) ([]gitsource.Signer, error) {
	if err := t.load(); err != nil {
		return nil, err
	}
	mode, from := t.mode, ""
	if mode == gitsource.ModeOff {
		return nil, nil
	}
	if mode == gitsource.ModeStrict {
		var applied []string
		if deployed != nil {
			applied = deployed()
		}
		// Nothing deployed yet: the commit itself, as head. Deployed commits the
		// repository no longer holds (a force-push, then a fresh fetch): every ancestor.
		if from = repo.Newest(applied); len(applied) == 0 {
			mode = gitsource.ModeHead
		}
	}
	signers, err := repo.Verify(mode, ref, c, from, t.keys)
	var se *gitsource.SignatureError
	if errors.As(err, &se) {
		return nil, invalid("refusing commit %.12s (--verify-signatures=%s; nothing was changed): %v", c.Hash, t.mode, err)
	}
	return signers, err
}

// decryptFS is a repository tree in which every SOPS-encrypted file reads as its plain
// text, decrypted in memory, and any other file holding an encrypted value is refused.
// It is what rendering reads, so plain folders, kustomize inputs (generators included)
// and Helm values alike are decrypted before anything else reads them.
type decryptFS struct {
	fs.FS
	keys      *sops.Keys
	mu        sync.Mutex
	decrypted map[string]bool // files that were decrypted
}

func (t *trustFlags) decrypting(fsys fs.FS) (*decryptFS, error) {
	if err := t.load(); err != nil {
		return nil, err
	}
	return &decryptFS{FS: fsys, keys: t.age, decrypted: map[string]bool{}}, nil
}

// ReadFile implements fs.ReadFileFS.
func (d *decryptFS) ReadFile(name string) ([]byte, error) {
	data, err := fs.ReadFile(d.FS, name)
	if err != nil {
		return nil, err
	}
	plainErr := sops.CheckPlain(name, data) // one scan: most files hold no ENC[ at all
	if plainErr == nil {
		return data, nil
	}
	if !sops.IsEncrypted(data) {
		return nil, plainErr
	}
	plain, err := sops.Decrypt(name, data, d.keys)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.decrypted[name] = true
	d.mu.Unlock()
	return plain, nil
}

// Open implements fs.FS: a regular file opens as what ReadFile returns.
func (d *decryptFS) Open(name string) (fs.File, error) {
	f, err := d.FS.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		return f, err
	}
	f.Close()
	data, err := d.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), info: sizedInfo{fi, int64(len(data))}}, nil
}

// any reports whether a file was decrypted.
func (d *decryptFS) any() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.decrypted) > 0
}

func (d *decryptFS) was(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.decrypted[name]
}

type memFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (i sizedInfo) Size() int64 { return i.size }

// sopsError maps a decryption failure to invalid input (exit 3).
func sopsError(err error) error {
	var se *sops.Error
	if errors.As(err, &se) {
		return invalid("%v (nothing was changed)", err)
	}
	return err
}

// sealDecrypted checks that objects from decrypted files are Secrets or ConfigMaps, and
// marks them so that every view masks their values. A kustomization or chart that read
// an encrypted file cannot say which objects came from it: every ConfigMap it renders is
// masked then, and only a plain file is held to the kinds rule.
func sealDecrypted(objs []*manifest.Object, d *decryptFS, rendered bool) error {
	if !d.any() {
		return nil
	}
	var errs manifest.ErrorList
	for _, o := range objs {
		if !rendered && !d.was(o.File) {
			continue
		}
		if t, _ := o.Meta(); rendered && t.Kind != "ConfigMap" {
			continue
		}
		t, meta := o.Meta()
		if t.Kind != "Secret" && t.Kind != "ConfigMap" {
			errs = append(errs, &manifest.FieldError{File: o.File, Line: o.Line, Path: "kind", Value: t.Kind,
				Msg: "only Secrets and ConfigMaps may come from a SOPS-encrypted file (their values are masked wherever kgit shows them)"})
			continue
		}
		if meta.Annotations == nil {
			meta.Annotations = map[string]string{}
		}
		meta.Annotations[manifest.DecryptedAnnotation] = "true"
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w", errs)
	}
	return nil
}

// appliedCommits returns the commits the app's objects were applied from.
func appliedCommits(ctx context.Context, g *globals, st *site, app string) func() []string {
	return func() []string {
		t, err := st.target(ctx, app, nil, nil)
		if err != nil {
			return nil
		}
		live, err := t.Load(ctx)
		if err != nil {
			return nil
		}
		var out []string
		for _, a := range live.Applied() {
			out = append(out, a.Commit)
		}
		return out
	}
}

// verifyTarget is verifyCommit for a commit an operator rolls back to by SHA (rollout
// undo): the commit itself must be signed by a trusted key whatever the mode.
func (t *trustFlags) verifyTarget(repo *gitsource.Repo, sha string) error {
	if err := t.load(); err != nil || t.mode == gitsource.ModeOff {
		return err
	}
	c, ok := repo.Describe(sha)
	if !ok {
		return invalid("refusing commit %.12s (--verify-signatures=%s; nothing was changed): not in %s", sha, t.mode, repo.Name())
	}
	if _, err := repo.Verify(gitsource.ModeHead, "", c, "", t.keys); err != nil {
		return invalid("refusing commit %.12s (--verify-signatures=%s; nothing was changed): %v", sha, t.mode, err)
	}
	return nil
}

// historyKeys are the trusted keys rollout history shows signers by, nil without any.
func (t *trustFlags) historyKeys() *gitsource.TrustedKeys {
	if len(t.trustedKeys) == 0 {
		return nil
	}
	keys, err := gitsource.LoadTrustedKeys(t.trustedKeys...)
	if err != nil {
		return nil
	}
	return keys
}
