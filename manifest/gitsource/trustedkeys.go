package gitsource

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/crypto/ssh"
)

// TrustedKeys are the keys whose signatures kgit accepts on commits and tags
// (--trusted-keys). The zero value trusts nothing.
type TrustedKeys struct {
	pgp openpgp.EntityList
	ssh []sshKey
}

// sshKey is one SSH public key, from an authorized_keys line or a git
// allowed_signers line.
type sshKey struct {
	pub         ssh.PublicKey
	fingerprint string // SHA256:...
	identity    string // allowed_signers principals, else the authorized_keys comment
	namespaces  []string
	validAfter  time.Time
	validBefore time.Time
	source      string // file:line
}

// LoadTrustedKeys reads --trusted-keys files. Each file is told apart by its
// content: an armored OpenPGP public key block (several blocks may follow one
// another), a binary OpenPGP keyring (`gpg --export`), or lines that are
// either `authorized_keys` entries (`[options] ssh-ed25519 AAAA… [comment]`)
// or git `allowed_signers` entries (`principals [namespaces="git",valid-after=…]
// ssh-ed25519 AAAA…`), mixed freely. Blank lines and `#` comments are skipped.
// A file without any key, or with a line that parses as neither, is an error
// naming the file and line.
func LoadTrustedKeys(files ...string) (*TrustedKeys, error) {
	k := &TrustedKeys{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("trusted keys: %w", err)
		}
		if err := k.Add(f, data); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Add parses one file's content (see LoadTrustedKeys); name is used in errors.
func (k *TrustedKeys) Add(name string, data []byte) error {
	before := k.Len()
	var err error
	switch trimmed := bytes.TrimSpace(data); {
	case bytes.Contains(trimmed, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")):
		err = k.addArmoredPGP(trimmed)
	case bytes.Contains(trimmed, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")):
		err = errors.New("holds a PGP private key; give the public key (gpg --armor --export)")
	case len(trimmed) > 0 && trimmed[0]&0x80 != 0:
		var el openpgp.EntityList
		if el, err = openpgp.ReadKeyRing(bytes.NewReader(trimmed)); err == nil {
			k.pgp = append(k.pgp, el...)
		}
	default:
		err = k.addSSHLines(name, data)
	}
	if err != nil {
		return fmt.Errorf("trusted keys %s: %w", name, err)
	}
	if k.Len() == before {
		return fmt.Errorf("trusted keys %s: no key found (want armored OpenPGP public keys, authorized_keys or allowed_signers lines)", name)
	}
	return nil
}

// Len is the number of trusted keys (OpenPGP entities and SSH keys).
func (k *TrustedKeys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.pgp) + len(k.ssh)
}

func (k *TrustedKeys) addArmoredPGP(data []byte) error {
	const begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	blocks := strings.Split(string(data), begin)
	for _, b := range blocks[1:] {
		el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(begin + b))
		if err != nil {
			return fmt.Errorf("OpenPGP public key: %v", err)
		}
		k.pgp = append(k.pgp, el...)
	}
	return nil
}

func (k *TrustedKeys) addSSHLines(name string, data []byte) error {
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := parseSSHLine(line)
		if err != nil {
			return fmt.Errorf("line %d: %v", i+1, err)
		}
		key.source = fmt.Sprintf("%s:%d", name, i+1)
		k.ssh = append(k.ssh, key)
	}
	return nil
}

// isSSHKeyType reports whether s names an SSH public key algorithm.
func isSSHKeyType(s string) bool {
	switch s {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoDSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384,
		ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
		return true
	}
	return strings.HasSuffix(s, "-cert-v01@openssh.com")
}

// authorizedKeysOptions are the options an authorized_keys line may start
// with; a first field made of these is not an allowed_signers principal.
var authorizedKeysOptions = []string{"agent-forwarding", "cert-authority", "command=", "environment=", "expiry-time=",
	"from=", "no-", "permitlisten=", "permitopen=", "port-forwarding", "principals=", "pty", "restrict", "tunnel=",
	"user-rc", "x11-forwarding", "verify-required", "touch-required"}

func isAuthorizedKeysOptions(field string) bool {
	for _, opt := range splitOptions(field) {
		known := false
		for _, p := range authorizedKeysOptions {
			if strings.HasPrefix(strings.ToLower(opt), p) {
				known = true
				break
			}
		}
		if !known {
			return false
		}
	}
	return true
}

// parseSSHLine reads an authorized_keys or an allowed_signers line.
func parseSSHLine(line string) (sshKey, error) {
	fields := splitFields(line)
	at := -1
	for i, f := range fields {
		if isSSHKeyType(f) && i+1 < len(fields) {
			at = i
			break
		}
	}
	if at < 0 || at > 2 {
		return sshKey{}, errors.New("not an authorized_keys or allowed_signers line (no SSH public key found)")
	}
	if strings.HasSuffix(fields[at], "-cert-v01@openssh.com") {
		return sshKey{}, errors.New("SSH certificates are not supported; list the signing keys themselves")
	}
	blob, err := base64.StdEncoding.DecodeString(fields[at+1])
	if err != nil {
		return sshKey{}, errors.New("SSH public key is not valid base64")
	}
	pub, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return sshKey{}, fmt.Errorf("SSH public key: %v", err)
	}
	if pub.Type() != fields[at] {
		return sshKey{}, fmt.Errorf("SSH public key is a %s, the line says %s", pub.Type(), fields[at])
	}
	key := sshKey{pub: pub, fingerprint: ssh.FingerprintSHA256(pub)}
	var options string
	switch {
	case at == 0: // authorized_keys without options
		key.identity = strings.Join(fields[2:], " ")
	case at == 1 && isAuthorizedKeysOptions(fields[0]): // authorized_keys with options
		key.identity = strings.Join(fields[at+2:], " ")
	case at == 1: // allowed_signers: principals key
		key.identity = fields[0]
	default: // allowed_signers: principals options key
		key.identity = fields[0]
		options = fields[1]
	}
	for _, opt := range splitOptions(options) {
		name, value, _ := strings.Cut(opt, "=")
		value = strings.Trim(value, `"`)
		switch strings.ToLower(name) {
		case "namespaces":
			key.namespaces = strings.Split(value, ",")
		case "valid-after":
			if key.validAfter, err = parseSSHTime(value); err != nil {
				return sshKey{}, err
			}
		case "valid-before":
			if key.validBefore, err = parseSSHTime(value); err != nil {
				return sshKey{}, err
			}
		case "cert-authority":
			return sshKey{}, errors.New("cert-authority is not supported; list the signing keys themselves")
		default:
			return sshKey{}, fmt.Errorf("unknown allowed_signers option %q", name)
		}
	}
	return key, nil
}

// splitFields splits on blanks outside double quotes.
func splitFields(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case (r == ' ' || r == '\t') && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// splitOptions splits a comma-separated option list outside double quotes.
func splitOptions(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	start, quoted := 0, false
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseSSHTime reads ssh-keygen's YYYYMMDD[HHMM[SS]][Z] (local time unless Z).
func parseSSHTime(s string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		s, loc = s[:len(s)-1], time.UTC
	}
	for _, layout := range []string{"20060102", "200601021504", "20060102150405"} {
		if len(s) == len(layout) {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("allowed_signers time %q is not YYYYMMDD[HHMM[SS]][Z]", s)
}
