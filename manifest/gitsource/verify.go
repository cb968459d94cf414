package gitsource

// Signature verification (--verify-signatures, --trusted-keys). A caller loads
// the keys once (LoadTrustedKeys), resolves the commit to deploy as usual
// (ResolveCommit), then calls Verify with the mode, the --ref, that commit and
// the last deployed commit's SHA (strict mode), before reading any file of the
// commit. A *SignatureError means: refuse, exit 3, nothing changed. The
// returned Signers say who signed, for `rollout history`.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Mode is a --verify-signatures mode.
type Mode string

const (
	ModeOff        Mode = ""             // no verification
	ModeHead       Mode = "head"         // the deployed commit is signed by a trusted key
	ModeTag        Mode = "tag"          // the annotated tag named by --ref is signed by a trusted key
	ModeTagAndHead Mode = "tag-and-head" // both
	ModeStrict     Mode = "strict"       // every commit since the last deployed one, the deployed one included
)

// ParseMode reads a --verify-signatures / KGIT_VERIFY_SIGNATURES value;
// "" and "none" mean off.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeOff, "none":
		return ModeOff, nil
	case ModeHead, ModeTag, ModeTagAndHead, ModeStrict:
		return m, nil
	}
	return "", fmt.Errorf("--verify-signatures %q: want head, tag, tag-and-head or strict", s)
}

// Signer says who signed a commit or tag, for messages and `rollout history`.
type Signer struct {
	Object   string // the commit's full SHA, or "tag NAME"
	Format   string // "openpgp" or "ssh"
	KeyID    string // OpenPGP: the signing (sub)key ID, 16 hex digits as gpg shows it; SSH: "SHA256:…" fingerprint
	Identity string // OpenPGP: the key's primary user ID; SSH: allowed_signers principals or the authorized_keys comment
}

// String is e.g. `ssh SHA256:abc… (alice@example.com)`.
func (s Signer) String() string {
	if s.Identity == "" {
		return s.Format + " " + s.KeyID
	}
	return s.Format + " " + s.KeyID + " (" + s.Identity + ")"
}

// Why a signature check failed; test with errors.Is.
var (
	ErrUnsigned     = errors.New("unsigned")
	ErrUnknownKey   = errors.New("signed by an unknown key")
	ErrBadSignature = errors.New("bad signature")
)

// SignatureError is what every Verify function returns on refusal. Its
// message names the object (commit short SHA or tag) and why; a caller maps it
// to "invalid input" (exit 3): nothing was changed.
type SignatureError struct {
	Object string // "commit 1a2b3c4d5e6f" or "tag v1.2.0"
	Err    error  // ErrUnsigned, ErrUnknownKey, ErrBadSignature, or ErrRefNotFound (no such tag)
	KeyID  string // the signing key's ID or fingerprint when known
	Detail string
}

func (e *SignatureError) Error() string {
	msg := e.Object + ": " + e.Err.Error()
	if e.KeyID != "" {
		msg += " " + e.KeyID
	}
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func (e *SignatureError) Unwrap() error { return e.Err }

func shortSHA(h plumbing.Hash) string { return h.String()[:12] }

// VerifyCommit checks that c carries a valid signature (OpenPGP, or SSH as git
// writes with gpg.format=ssh) by one of keys, and returns who signed it.
func VerifyCommit(c *object.Commit, keys *TrustedKeys) (Signer, error) {
	payload := func() ([]byte, error) {
		o := &plumbing.MemoryObject{}
		if err := c.EncodeWithoutSignature(o); err != nil {
			return nil, err
		}
		return readAll(o)
	}
	s, err := verifySignature("commit "+shortSHA(c.Hash), c.PGPSignature, payload, c.Committer.When, keys)
	s.Object = c.Hash.String()
	return s, err
}

// VerifyTag checks the annotated tag refs/tags/name: the tag object itself
// must be signed by one of keys (a signed commit under an unsigned tag does
// not count). A lightweight tag is refused as unsigned.
func VerifyTag(r *git.Repository, name string, keys *TrustedKeys) (Signer, error) {
	name = strings.TrimPrefix(name, "refs/tags/")
	obj := "tag " + name
	ref, err := r.Reference(plumbing.NewTagReferenceName(name), false)
	if err != nil {
		return Signer{}, &SignatureError{Object: obj, Err: ErrRefNotFound,
			Detail: "the tag modes deploy only what a signed tag names: give --ref, or rollback --to, a tag"}
	}
	if ref.Type() == plumbing.SymbolicReference {
		if ref, err = r.Reference(ref.Name(), true); err != nil {
			return Signer{}, fmt.Errorf("%s: %w", obj, ErrRefNotFound)
		}
	}
	t, err := r.TagObject(ref.Hash())
	if err != nil {
		return Signer{}, &SignatureError{Object: obj, Err: ErrUnsigned, Detail: "a lightweight tag carries no signature; sign it with git tag -s"}
	}
	payload := func() ([]byte, error) {
		o := &plumbing.MemoryObject{}
		if err := t.EncodeWithoutSignature(o); err != nil {
			return nil, err
		}
		return readAll(o)
	}
	s, err := verifySignature(obj, t.PGPSignature, payload, t.Tagger.When, keys)
	s.Object = obj
	return s, err
}

// VerifyRange checks, for strict mode, the commit to and every commit
// reachable from it that is not reachable from from (git rev-list from..to,
// merged branches included): from is the last deployed commit, already
// verified, and so is all it descends from. from == "" means no commit was
// deployed yet: every ancestor of to is checked. A history rewritten since from
// (a force-push: from is not an ancestor of to) is checked the same way: every
// commit to brings that from did not have, back to where the two histories
// meet, so a signed commit on top of rewritten unsigned ones is refused. The
// signers are returned newest first, to's first.
func VerifyRange(r *git.Repository, from, to string, keys *TrustedKeys) ([]Signer, error) {
	head, err := resolveCommit(r, to)
	if err != nil {
		return nil, err
	}
	exclude := map[plumbing.Hash]bool{}
	if from != "" {
		base, err := r.CommitObject(plumbing.NewHash(from))
		if err != nil || len(from) != 40 {
			return nil, fmt.Errorf("last deployed commit %s: %w", from, ErrRefNotFound)
		}
		exclude[base.Hash] = true
		if err := ancestors(r, base, exclude); err != nil {
			return nil, err
		}
		delete(exclude, head.Hash) // to itself is always checked
	}
	var signers []Signer
	seen := map[plumbing.Hash]bool{}
	queue := []*object.Commit{head}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		s, err := VerifyCommit(c, keys)
		if err != nil {
			return signers, err
		}
		signers = append(signers, s)
		for _, p := range c.ParentHashes {
			if seen[p] || exclude[p] {
				continue
			}
			seen[p] = true
			pc, err := r.CommitObject(p)
			if err != nil {
				return signers, fmt.Errorf("commit %s: parent %s: %w", shortSHA(c.Hash), shortSHA(p), err)
			}
			queue = append(queue, pc)
		}
	}
	return signers, nil
}

// ancestors adds c and all its ancestors to set.
func ancestors(r *git.Repository, c *object.Commit, set map[plumbing.Hash]bool) error {
	stack := []plumbing.Hash{c.Hash}
	set[c.Hash] = true
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		cc, err := r.CommitObject(h)
		if err != nil {
			return fmt.Errorf("commit %s: %w", shortSHA(h), err)
		}
		for _, p := range cc.ParentHashes {
			if !set[p] {
				set[p] = true
				stack = append(stack, p)
			}
		}
	}
	return nil
}

// Verify applies a mode to one deployment: head is the commit to deploy, ref
// the --ref it was resolved from (a tag name for the tag modes), lastDeployed
// the full SHA of the commit deployed before (strict; "" for none). It
// returns the signers, the head commit's first (the tag's, in tag mode), or a
// *SignatureError.
func Verify(r *git.Repository, mode Mode, ref string, head *object.Commit, lastDeployed string, keys *TrustedKeys) ([]Signer, error) {
	switch mode {
	case ModeOff:
		return nil, nil
	case ModeHead:
		s, err := VerifyCommit(head, keys)
		if err != nil {
			return nil, err
		}
		return []Signer{s}, nil
	case ModeTag, ModeTagAndHead:
		ts, err := VerifyTag(r, ref, keys)
		if err != nil {
			return nil, err
		}
		if mode == ModeTag {
			return []Signer{ts}, nil
		}
		hs, err := VerifyCommit(head, keys)
		if err != nil {
			return nil, err
		}
		return []Signer{hs, ts}, nil
	case ModeStrict:
		return VerifyRange(r, lastDeployed, head.Hash.String(), keys)
	}
	return nil, fmt.Errorf("unknown --verify-signatures mode %q", mode)
}

func readAll(o *plumbing.MemoryObject) ([]byte, error) {
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// verifySignature checks an armored signature over the payload.
func verifySignature(obj, sig string, payload func() ([]byte, error), when time.Time, keys *TrustedKeys) (Signer, error) {
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return Signer{}, &SignatureError{Object: obj, Err: ErrUnsigned}
	}
	data, err := payload()
	if err != nil {
		return Signer{}, fmt.Errorf("%s: %w", obj, err)
	}
	switch {
	case strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----"):
		return verifySSH(obj, sig, data, when, keys)
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		return verifyPGP(obj, sig, data, keys)
	}
	return Signer{}, &SignatureError{Object: obj, Err: ErrBadSignature, Detail: "unsupported signature format (only OpenPGP and SSH signatures are verified)"}
}

func verifySSH(obj, armored string, data []byte, when time.Time, keys *TrustedKeys) (Signer, error) {
	sig, err := sshsig.Unarmor([]byte(armored))
	if err != nil {
		if strings.Contains(err.Error(), "invalid signature format") {
			// sshsig refuses RSA signatures that are not rsa-sha2-256/512.
			return Signer{Format: "ssh"}, &SignatureError{Object: obj, Err: ErrBadSignature, Detail: sha1Refused}
		}
		return Signer{Format: "ssh"}, &SignatureError{Object: obj, Err: ErrBadSignature, Detail: "malformed SSH signature"}
	}
	fp := fingerprintOf(sig)
	s := Signer{Format: "ssh", KeyID: fp}
	if sig.Signature.Format == "ssh-rsa" {
		// RSA with SHA-1: x/crypto accepts it, OpenSSH refuses it.
		return s, &SignatureError{Object: obj, Err: ErrBadSignature, KeyID: fp, Detail: sha1Refused}
	}
	if sig.Namespace != "git" {
		return s, &SignatureError{Object: obj, Err: ErrBadSignature, KeyID: fp, Detail: fmt.Sprintf("SSH signature namespace %q, want \"git\"", sig.Namespace)}
	}
	var key *sshKey
	var why string
	for i := range keys.sshKeys() {
		k := &keys.ssh[i]
		if k.fingerprint != fp {
			continue
		}
		switch {
		case len(k.namespaces) > 0 && !contains(k.namespaces, "git"):
			why = k.source + " does not allow the git namespace"
		case !k.validAfter.IsZero() && when.Before(k.validAfter):
			why = k.source + " is valid only after " + k.validAfter.Format(time.RFC3339)
		case !k.validBefore.IsZero() && when.After(k.validBefore):
			why = k.source + " is valid only before " + k.validBefore.Format(time.RFC3339)
		default:
			key = k
		}
		if key != nil {
			break
		}
	}
	if key == nil {
		return s, &SignatureError{Object: obj, Err: ErrUnknownKey, KeyID: fp, Detail: why}
	}
	s.Identity = key.identity
	if err := sshsig.Verify(bytes.NewReader(data), sig, key.pub, sig.HashAlgorithm, "git"); err != nil {
		return s, &SignatureError{Object: obj, Err: ErrBadSignature, KeyID: fp, Detail: "the signature does not match the content"}
	}
	return s, nil
}

const sha1Refused = "ssh-rsa signatures use SHA-1 and are refused as OpenSSH refuses them; sign with rsa-sha2-512"

func (k *TrustedKeys) sshKeys() []sshKey {
	if k == nil {
		return nil
	}
	return k.ssh
}

func fingerprintOf(sig *sshsig.Signature) string {
	if sig.PublicKey == nil {
		return ""
	}
	return ssh.FingerprintSHA256(sig.PublicKey)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

func verifyPGP(obj, armored string, data []byte, keys *TrustedKeys) (Signer, error) {
	s := Signer{Format: "openpgp", KeyID: pgpIssuer(armored)}
	var ring openpgp.EntityList
	if keys != nil {
		ring = keys.pgp
	}
	entity, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(data), strings.NewReader(armored), nil)
	switch {
	case err == nil:
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return s, &SignatureError{Object: obj, Err: ErrUnknownKey, KeyID: s.KeyID}
	default:
		return s, &SignatureError{Object: obj, Err: ErrBadSignature, KeyID: s.KeyID, Detail: pgpReason(err)}
	}
	if id := entity.PrimaryIdentity(); id != nil {
		s.Identity = id.Name
	}
	return s, nil
}

// pgpIssuer reads the signing key ID from an armored signature ("" if none).
func pgpIssuer(armored string) string {
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		return ""
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		return ""
	}
	sig, ok := p.(*packet.Signature)
	if !ok || sig.IssuerKeyId == nil {
		return ""
	}
	return fmt.Sprintf("%016X", *sig.IssuerKeyId)
}

func pgpReason(err error) string {
	switch {
	case errors.Is(err, pgperrors.ErrKeyExpired):
		return "the key has expired"
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return "the key was revoked"
	case errors.Is(err, pgperrors.ErrSignatureExpired):
		return "the signature has expired"
	}
	var se pgperrors.SignatureError
	if errors.As(err, &se) {
		return "the signature does not match the content"
	}
	return err.Error()
}

// Verify checks the commit c, resolved from ref, as mode says; lastDeployed is the full
// SHA of the commit deployed before ("" for none), which strict mode verifies from.
func (r *Repo) Verify(mode Mode, ref string, c *Commit, lastDeployed string, keys *TrustedKeys) ([]Signer, error) {
	if ref == "" {
		ref = r.src.Ref
	}
	return Verify(r.git, mode, ref, c.c, lastDeployed, keys)
}

// SignerOf says who signed a commit, by a trusted key; an error says why not.
func (r *Repo) SignerOf(sha string, keys *TrustedKeys) (Signer, error) {
	c, err := r.git.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return Signer{}, err
	}
	return VerifyCommit(c, keys)
}

// Newest returns, of the commits given (full SHAs), the newest one the repository
// holds: the commit deployed last, as far as the repository can tell, whether or not
// head descends from it (after a force-push it does not). "" when it holds none.
func (r *Repo) Newest(commits []string) string {
	best, bestWhen := "", time.Time{}
	for _, sha := range commits {
		c, err := r.git.CommitObject(plumbing.NewHash(sha))
		if err != nil {
			continue
		}
		if best == "" || c.Committer.When.After(bestWhen) {
			best, bestWhen = sha, c.Committer.When
		}
	}
	return best
}
