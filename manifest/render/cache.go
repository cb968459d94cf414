package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
)

// Cache keeps renders that take long (a kustomization, a Helm chart) on disk, so that a
// sync of a commit already rendered costs a read, not a build. Its key must name
// everything the render depends on: the commit's tree, the path, the options, and the
// renderer's build. It lives in the state directory and is disposable: a missing,
// unreadable or corrupt entry is a miss, and the render runs again. Never put in it a
// render that read a decrypted file.
type Cache struct {
	Dir string // "" disables the cache
}

func (c Cache) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:])+".json")
}

// Get returns the render kept under key, if there is a sound one.
func (c Cache) Get(key string) (*Result, bool) {
	if c.Dir == "" {
		return nil, false
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var e struct {
		Sum    string          `json:"sum"`
		Result json.RawMessage `json:"result"`
	}
	if json.Unmarshal(data, &e) != nil {
		return nil, false
	}
	sum := sha256.Sum256(e.Result)
	if hex.EncodeToString(sum[:]) != e.Sum {
		return nil, false
	}
	var r Result
	if json.Unmarshal(e.Result, &r) != nil {
		return nil, false
	}
	return &r, true
}

// Put keeps a render under key; a failure to write only costs the next render.
func (c Cache) Put(key string, r *Result) {
	if c.Dir == "" {
		return
	}
	res, err := json.Marshal(r)
	if err != nil {
		return
	}
	sum := sha256.Sum256(res)
	data, err := json.Marshal(struct {
		Sum    string          `json:"sum"`
		Result json.RawMessage `json:"result"`
	}{hex.EncodeToString(sum[:]), res})
	if err != nil || os.MkdirAll(c.Dir, 0o700) != nil {
		return
	}
	c.trim(maxCached - 1)
	tmp, err := os.CreateTemp(c.Dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), c.path(key)) != nil {
		os.Remove(tmp.Name())
	}
}

// maxCached bounds the entries a cache keeps: the newest ones stay.
const maxCached = 32

// trim removes the oldest entries beyond keep.
func (c Cache) trim(keep int) {
	entries, err := os.ReadDir(c.Dir)
	if err != nil || len(entries) <= keep {
		return
	}
	type aged struct {
		name string
		mod  int64
	}
	var all []aged
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			all = append(all, aged{e.Name(), fi.ModTime().UnixNano()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod > all[j].mod })
	for _, a := range all[min(keep, len(all)):] {
		os.Remove(filepath.Join(c.Dir, a.name))
	}
}
