//go:build linux

package process

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestLogStamps: the supervisor's log stamps each line once, however the output is cut
// into writes, and the reader takes the stamps off, shows them (RFC3339Nano), or drops
// the lines written before --since; a line without a stamp (an older supervisor's) is kept.
func TestLogStamps(t *testing.T) {
	files := containerLogs(t.TempDir(), "main")
	l, err := openLog(files, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"one\ntw", "o\n", "three"} {
		if _, err := l.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	raw, _ := os.ReadFile(files.current)
	lines := strings.Split(string(raw), "\n")
	if len(lines) != 3 {
		t.Fatalf("log file: %q", raw)
	}
	for i, want := range []string{"one", "two", "three"} {
		stamp, text, _ := strings.Cut(lines[i], " ")
		if _, err := time.Parse(stampLayout, stamp); err != nil || text != want {
			t.Errorf("line %d: %q, want a stamp then %q", i, lines[i], want)
		}
	}

	old := "2020-01-02T03:04:05.000000000Z old\n"
	mid := "2030-01-02T03:04:05.500000000Z new\n"
	data := old + mid + "unstamped\nshort"
	read := func(f *logFilter, chunk int) string {
		var out bytes.Buffer
		f.w = &out
		for d := data; len(d) > 0; {
			n := min(chunk, len(d))
			f.Write([]byte(d[:n]))
			d = d[n:]
		}
		f.flush()
		return out.String()
	}
	for _, chunk := range []int{1, 7, 1000} {
		if got := read(&logFilter{}, chunk); got != "old\nnew\nunstamped\nshort" {
			t.Errorf("chunk %d: plain: %q", chunk, got)
		}
		if got := read(&logFilter{stamps: true}, chunk); got != "2020-01-02T03:04:05Z old\n2030-01-02T03:04:05.5Z new\nunstamped\nshort" {
			t.Errorf("chunk %d: timestamps: %q", chunk, got)
		}
		since := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		if got := read(&logFilter{since: since}, chunk); got != "new\nunstamped\nshort" {
			t.Errorf("chunk %d: since: %q", chunk, got)
		}
	}
}
