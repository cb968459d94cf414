package docker

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDrained: a pod is stopped once each proxy of its Services has looked at the pods
// since it was marked draining; a slow running proxy is waited for (up to drainWait), a
// gone one, or one that never says (no file), only for three of its periods.
func TestDrained(t *testing.T) {
	dir := t.TempDir()
	made := time.Now()
	at := func(name string, mtime time.Time) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return path
	}
	looked := drainProxy{at("looked", made.Add(time.Millisecond)), true}
	slow := drainProxy{at("slow", made.Add(-5*time.Second)), true} // its last look began before the marker
	gone := drainProxy{at("gone", made.Add(-500*time.Millisecond)), false}
	missing := drainProxy{filepath.Join(dir, "missing"), true}
	for _, c := range []struct {
		name  string
		seen  []drainProxy
		after time.Duration
		want  bool
	}{
		{"a proxy that looked since", []drainProxy{looked}, 0, true},
		{"a slow proxy, at once", []drainProxy{looked, slow}, 0, false},
		{"a slow proxy, after three periods", []drainProxy{slow}, 3 * proxyRefresh, false},
		{"a slow proxy, after drainWait", []drainProxy{slow}, drainWait, true},
		{"a gone proxy, at once", []drainProxy{gone}, 0, false},
		{"a gone proxy, after three periods", []drainProxy{gone}, 3 * proxyRefresh, true},
		{"no file, after three periods", []drainProxy{missing, looked}, 3 * proxyRefresh, true},
		{"no file, at once", []drainProxy{missing}, proxyRefresh, false},
	} {
		if got := drained(c.seen, made, made.Add(c.after)); got != c.want {
			t.Errorf("%s: drained %v, want %v", c.name, got, c.want)
		}
	}
}
