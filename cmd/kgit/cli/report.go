package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"kgit.dev/kgit/reconcile"
)

// reporter shows a sync's progress on stderr: one line per action, and each
// Deployment's updated/ready/available counts, as a redrawn bar on a terminal and as a
// plain line otherwise (CI logs).
type reporter struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	bar  string // the bar now drawn on the last line, if any
	last map[string]string
}

func newReporter(w io.Writer) *reporter {
	f, ok := w.(*os.File)
	tty := ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
	return &reporter{w: w, tty: tty, last: map[string]string{}}
}

// Event implements reconcile.EventSink.
func (r *reporter) Event(e reconcile.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearBar()
	if e.Reason == "Applied" || e.Reason == "Pruned" || e.Reason == "OverrideKept" {
		fmt.Fprintln(r.w, e.Message)
	} else {
		fmt.Fprintf(r.w, "%s: %s\n", e.Object, e.Message)
	}
	r.drawBar()
}

// Progress implements reconcile.ProgressSink.
func (r *reporter) Progress(name string, desired int, p reconcile.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := fmt.Sprintf("%s: %d/%d updated, %d ready, %d available", name, p.Updated, desired, p.Ready, p.Available)
	if r.last[name] == line {
		return
	}
	r.last[name] = line
	if !r.tty {
		fmt.Fprintln(r.w, line)
		return
	}
	r.clearBar()
	r.bar = fmt.Sprintf("%s [%s] %s", name, bar(p.Available, desired, 20), line[len(name)+2:])
	r.drawBar()
}

// Done clears the bar.
func (r *reporter) Done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearBar()
	r.bar = ""
}

func (r *reporter) clearBar() {
	if r.tty && r.bar != "" {
		fmt.Fprint(r.w, "\r\033[K")
	}
}

func (r *reporter) drawBar() {
	if r.tty && r.bar != "" {
		fmt.Fprint(r.w, r.bar)
	}
}

func bar(n, of, width int) string {
	if of <= 0 {
		return strings.Repeat("=", width)
	}
	full := min(width, n*width/of)
	return strings.Repeat("=", full) + strings.Repeat(" ", width-full)
}
