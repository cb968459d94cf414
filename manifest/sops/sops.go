// Package sops reads files encrypted by Mozilla/CNCF sops with age keys, in
// memory, without linking the sops library (which brings every cloud KMS SDK).
//
// It implements sops' file format as sops v3 writes it (checked against sops
// v3.13): the data key is age-encrypted to each `sops.age[].recipient`; every
// value is `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM with the
// value's key path (`a:b:c:`) as additional data; which values are encrypted
// follows the file's `unencrypted_suffix`, `encrypted_suffix`,
// `unencrypted_regex`, `encrypted_regex`, `unencrypted_comment_regex` and
// `encrypted_comment_regex`; the MAC (SHA-512 over the values in tree order,
// itself encrypted with `sops.lastmodified` as additional data) is verified
// before anything is returned.
//
// Formats are chosen from the path as sops chooses them: `.yaml`/`.yml`,
// `.json`, `.env` and `.ini` (both refused: not supported here), anything else
// is sops' "binary" format (a JSON envelope with one `data` value).
//
// Only age keys are used (X25519 and post-quantum hybrid identities). A file
// whose data key is encrypted only to other key types (pgp, kms, gcp_kms,
// azure_kv, hc_vault, hckms), or split into several key groups, is refused with
// an error naming the file and the key types.
//
// No error of this package holds a decrypted value, a ciphertext, or the MAC.
package sops

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrorKind tells why a file was refused.
type ErrorKind int

const (
	// KindFormat: the file is not a well-formed sops file (or its format is
	// not supported here).
	KindFormat ErrorKind = iota + 1
	// KindNoKey: no age identity that was given can decrypt the data key.
	KindNoKey
	// KindUnsupportedKey: the data key is encrypted only with key types this
	// package does not handle (pgp, kms, ...), or with several key groups.
	KindUnsupportedKey
	// KindDecrypt: a value does not decrypt with the data key (tampered
	// value, value moved to another key path, or a broken ENC[] string).
	KindDecrypt
	// KindMAC: the MAC does not match: the file was changed after sops wrote it.
	KindMAC
	// KindStillEncrypted: the result (or a file without sops metadata) still
	// holds an ENC[ value.
	KindStillEncrypted
)

func (k ErrorKind) String() string {
	switch k {
	case KindFormat:
		return "format"
	case KindNoKey:
		return "no key"
	case KindUnsupportedKey:
		return "unsupported key type"
	case KindDecrypt:
		return "decrypt"
	case KindMAC:
		return "MAC mismatch"
	case KindStillEncrypted:
		return "still encrypted"
	}
	return "unknown"
}

// Error is the only error type Decrypt and CheckPlain return. Its message
// starts with the file path and never holds secret material.
type Error struct {
	Path string
	Kind ErrorKind
	// Recipients are the file's age recipients (KindNoKey) or its key types
	// (KindUnsupportedKey).
	Recipients []string
	msg        string
}

func (e *Error) Error() string { return e.Path + ": sops: " + e.msg }

func errorf(p string, kind ErrorKind, format string, args ...any) *Error {
	return &Error{Path: p, Kind: kind, msg: fmt.Sprintf(format, args...)}
}

// IsKind reports whether err is (or wraps) an *Error of that kind.
func IsKind(err error, kind ErrorKind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// marker is the prefix of every value sops encrypts.
const marker = "ENC["

// IsEncrypted reports whether data holds values sops encrypted: an
// ENC[AES256_GCM,... string (every sops format writes its MAC that way, and
// every encrypted value). It is the test that picks the files that go through
// Decrypt; a file it misses is still caught by CheckPlain.
func IsEncrypted(data []byte) bool {
	return bytes.Contains(data, []byte("ENC[AES256_GCM,"))
}

// CheckPlain refuses data that still holds an ENC[ marker: a value sops
// encrypted that was not (or could not be) decrypted must never be applied as
// if it were the value. Call it on every file that was not decrypted, and
// Decrypt calls it on its own result.
func CheckPlain(p string, data []byte) error {
	if i := bytes.Index(data, []byte(marker)); i >= 0 {
		line := 1 + bytes.Count(data[:i], []byte("\n"))
		return errorf(p, KindStillEncrypted, "line %d holds an encrypted value (ENC[...]); refusing to use it undecrypted", line)
	}
	return nil
}

// Format is one of sops' file formats.
type Format string

const (
	FormatYAML   Format = "yaml"
	FormatJSON   Format = "json"
	FormatDotenv Format = "dotenv"
	FormatINI    Format = "ini"
	FormatBinary Format = "binary"
)

// FormatForPath chooses the format from the file name as sops does.
func FormatForPath(p string) Format {
	switch {
	case strings.HasSuffix(p, ".yaml"), strings.HasSuffix(p, ".yml"):
		return FormatYAML
	case strings.HasSuffix(p, ".json"):
		return FormatJSON
	case strings.HasSuffix(p, ".env"):
		return FormatDotenv
	case strings.HasSuffix(p, ".ini"):
		return FormatINI
	}
	return FormatBinary
}

// Decrypt decrypts a sops file held in memory and returns its plain content:
// YAML re-emitted (2-space indent, comments kept, without the `sops` key),
// JSON re-emitted (key order kept, without the `sops` key), or the raw bytes
// of a binary file. p names the file in errors and chooses the format (see
// FormatForPath). keys supplies the age identities; it may be nil, in which
// case every file is refused with KindNoKey.
//
// The MAC is verified before anything is returned, and the result is refused
// if it still holds ENC[. Every error is an *Error.
func Decrypt(p string, data []byte, keys *Keys) (out []byte, err error) {
	defer func() {
		// Malformed input must not crash kgit; the panic value may hold
		// secret data, so it is not reported.
		if r := recover(); r != nil {
			out, err = nil, errorf(p, KindFormat, "malformed file")
		}
	}()
	format := FormatForPath(path.Base(p))
	var doc document
	switch format {
	case FormatYAML:
		doc, err = parseYAML(data)
	case FormatJSON, FormatBinary:
		doc, err = parseJSON(data)
	default:
		return nil, errorf(p, KindFormat, "the %s format is not supported; decrypt it with the sops command", format)
	}
	if err != nil {
		return nil, errorf(p, KindFormat, "%v", err)
	}
	md, err := extractMetadata(doc)
	if err != nil {
		return nil, errorf(p, KindFormat, "%v", err)
	}
	dataKey, kerr := md.dataKey(p, keys)
	if kerr != nil {
		return nil, kerr
	}
	mac, err := decryptTree(doc, md, dataKey)
	if err != nil {
		return nil, errorf(p, KindDecrypt, "%v", err)
	}
	stored, err := decryptValue(md.mac, dataKey, md.lastModified)
	if err != nil {
		return nil, errorf(p, KindMAC, "the stored MAC does not decrypt: the file was changed after sops wrote it")
	}
	if s, ok := stored.(string); !ok || s != mac {
		return nil, errorf(p, KindMAC, "MAC mismatch: the file was changed after sops wrote it")
	}
	switch format {
	case FormatYAML:
		out, err = emitYAML(doc)
	case FormatJSON:
		out, err = emitJSON(doc)
	default:
		out, err = emitBinary(doc)
	}
	if err != nil {
		return nil, errorf(p, KindFormat, "%v", err)
	}
	if err := CheckPlain(p, out); err != nil {
		return nil, err
	}
	return out, nil
}
