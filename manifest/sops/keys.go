package sops

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// Environment variables sops reads its age identities from.
const (
	EnvAgeKey     = "SOPS_AGE_KEY"      // identities inline, several per line allowed
	EnvAgeKeyFile = "SOPS_AGE_KEY_FILE" // a file of identities, one per line
)

// Keys holds the age identities Decrypt may use and where they came from.
// The zero value and nil hold none.
type Keys struct {
	ids     []age.Identity
	sources []string // where identities were found, for error messages
	looked  []string // where they were looked for
}

// KeyOptions says where LoadKeys looks.
type KeyOptions struct {
	// Files are explicit identity files (kgit's --age-key-file), read in
	// addition to what sops itself would read. A file that cannot be read
	// is an error.
	Files []string
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// UserConfigDir is where sops' default `sops/age/keys.txt` lives; empty
	// means $XDG_CONFIG_HOME, else os.UserConfigDir() (~/.config on Linux).
	UserConfigDir string
}

// LoadKeys gathers age identities the way sops does, from all of: SOPS_AGE_KEY,
// SOPS_AGE_KEY_FILE, <config dir>/sops/age/keys.txt, and opts.Files. Finding
// none is not an error (a repository without sops files needs none); Decrypt
// then refuses encrypted files with KindNoKey. An explicitly named file
// (opts.Files or SOPS_AGE_KEY_FILE) that cannot be read or parsed is an error.
// Errors never quote key material.
//
// Not supported (sops has them): SOPS_AGE_KEY_CMD, SSH identities
// (SOPS_AGE_SSH_PRIVATE_KEY_FILE, ~/.ssh/id_ed25519), age plugins and
// passphrase-protected identity files.
func LoadKeys(opts KeyOptions) (*Keys, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	k := &Keys{}
	// an empty variable is taken as unset (export SOPS_AGE_KEY_FILE= in a shell)
	if v, ok := lookup(EnvAgeKey); ok && v != "" {
		k.looked = append(k.looked, EnvAgeKey)
		if err := k.add(EnvAgeKey, strings.NewReader(v), true); err != nil {
			return nil, err
		}
	}
	if f, ok := lookup(EnvAgeKeyFile); ok && f != "" {
		if err := k.addFile(EnvAgeKeyFile+"="+f, f); err != nil {
			return nil, err
		}
	}
	dir := opts.UserConfigDir
	if dir == "" {
		if x, ok := lookup("XDG_CONFIG_HOME"); ok && x != "" {
			dir = x
		} else if home, ok := lookup("HOME"); ok && home != "" {
			dir = filepath.Join(home, ".config")
		} else {
			dir, _ = os.UserConfigDir()
		}
	}
	if dir != "" {
		p := filepath.Join(dir, "sops", "age", "keys.txt")
		k.looked = append(k.looked, p)
		if data, err := os.ReadFile(p); err == nil {
			if err := k.add(p, bytes.NewReader(data), false); err != nil {
				return nil, err
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("age identities: %v", err)
		}
	}
	for _, f := range opts.Files {
		if err := k.addFile(f, f); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Len is the number of identities loaded.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.ids)
}

// Sources lists where identities were found (file paths or variable names).
func (k *Keys) Sources() []string {
	if k == nil {
		return nil
	}
	return append([]string(nil), k.sources...)
}

func (k *Keys) addFile(name, p string) error {
	k.looked = append(k.looked, name)
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("age identities: %v", err)
	}
	return k.add(name, bytes.NewReader(data), false)
}

// add parses identities: one per line, `#` comments and blank lines skipped,
// several per line (space separated) only for SOPS_AGE_KEY, as sops does.
func (k *Keys) add(source string, r io.Reader, manyPerLine bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n, found := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if n == 1 && (strings.HasPrefix(line, "age-encryption") || strings.HasPrefix(line, "-----BEGIN AGE")) {
			return fmt.Errorf("age identities in %s are passphrase-protected; kgit cannot prompt for the passphrase", source)
		}
		words := []string{line}
		if manyPerLine {
			words = strings.Fields(line)
		}
		for _, w := range words {
			id, err := parseIdentity(w)
			if err != nil {
				// The line is key material: say where, not what.
				return fmt.Errorf("age identities in %s, line %d: %v", source, n, err)
			}
			k.ids = append(k.ids, id)
			found++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("age identities in %s: %v", source, err)
	}
	if found > 0 {
		k.sources = append(k.sources, source)
	}
	return nil
}

func parseIdentity(s string) (age.Identity, error) {
	switch {
	case strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-1"):
		return age.ParseHybridIdentity(s)
	case strings.HasPrefix(s, "AGE-SECRET-KEY-1"):
		return age.ParseX25519Identity(s)
	case strings.HasPrefix(s, "AGE-PLUGIN-"):
		return nil, errors.New("age plugin identities are not supported")
	}
	return nil, errors.New("not an age identity (AGE-SECRET-KEY-1...)")
}

// dataKey recovers the file's 32-byte data key with the age identities.
func (md *metadata) dataKey(p string, keys *Keys) ([]byte, *Error) {
	if md.keyGroups > 1 {
		e := errorf(p, KindUnsupportedKey, "the data key is split into %d key groups (Shamir); decrypt it with the sops command", md.keyGroups)
		e.Recipients = md.otherKeyTypes
		return nil, e
	}
	if len(md.ageEncKeys) == 0 {
		e := errorf(p, KindUnsupportedKey, "encrypted only with %s keys; kgit decrypts age keys only (decrypt it with the sops command, or add an age recipient with `sops updatekeys`)", strings.Join(md.otherKeyTypes, ", "))
		e.Recipients = md.otherKeyTypes
		return nil, e
	}
	noKey := func(why string) *Error {
		e := errorf(p, KindNoKey, "%s; the file is encrypted to %s", why, md.describeKeys())
		e.Recipients = md.ageRecipients
		return e
	}
	if keys.Len() == 0 {
		where := "SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt or --age-key-file"
		if keys != nil && len(keys.looked) > 0 {
			where = strings.Join(keys.looked, ", ")
		}
		return nil, noKey("no age identity found (looked in " + where + ")")
	}
	for _, enc := range md.ageEncKeys {
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(enc)), keys.ids...)
		if err != nil {
			continue // no identity for this recipient (or a damaged stanza): try the next
		}
		key, err := io.ReadAll(io.LimitReader(r, 1024))
		if err != nil {
			continue
		}
		if len(key) != 32 {
			return nil, errorf(p, KindFormat, "the age-encrypted data key is %d bytes, not 32", len(key))
		}
		return key, nil
	}
	return nil, noKey(fmt.Sprintf("none of the %d age identities from %s decrypts the data key", keys.Len(), strings.Join(keys.sources, ", ")))
}
