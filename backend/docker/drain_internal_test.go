package docker

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDrained: a pod is stopped once each proxy of its Services has looked at the pods
// since it was marked draining; a slow proxy is waited for (up to drainWait), a gone one
// (its file seconds old, or missing) only for three of its periods.
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
	looked := at("looked", made.Add(time.Millisecond))
	slow := at("slow", made.Add(-500*time.Millisecond)) // its last look began before the marker
	gone := at("gone", made.Add(-5*time.Second))
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		name  string
		seen  []string
		after time.Duration
		want  bool
	}{
		{"a proxy that looked since", []string{looked}, 0, true},
		{"a slow proxy, at once", []string{looked, slow}, 0, false},
		{"a slow proxy, after three periods", []string{slow}, 3 * proxyRefresh, false},
		{"a slow proxy, after drainWait", []string{slow}, drainWait, true},
		{"a gone proxy, at once", []string{gone}, 0, false},
		{"a gone proxy, after three periods", []string{gone}, 3 * proxyRefresh, true},
		{"no file, after three periods", []string{missing, looked}, 3 * proxyRefresh, true},
		{"no file, at once", []string{missing}, proxyRefresh, false},
	} {
		if got := drained(c.seen, made, made.Add(c.after)); got != c.want {
			t.Errorf("%s: drained %v, want %v", c.name, got, c.want)
		}
	}
}
