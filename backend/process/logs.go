//go:build linux

package process

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"kgit.dev/kgit/backend"
)

// MaxLogBytes caps one container log file; past it the file is rotated once, so a
// container keeps at most twice this on disk.
const MaxLogBytes = 8 << 20

// logFiles names a container's log files.
type logFiles struct{ current, rotated, previous string }

func containerLogs(podDir, container string) logFiles {
	base := filepath.Join(podDir, "logs", container)
	return logFiles{current: base + ".log", rotated: base + ".log.1", previous: base + ".previous.log"}
}

// stampLayout is the time the supervisor writes at the start of each log line (UTC, a
// fixed width so that a reader tells a stamp from a line that starts with a date), then
// a space. Logs takes it off again unless asked for timestamps: the processes' output is
// a pipe that the supervisor copies anyway, so a line's time costs one format per line.
const stampLayout = "2006-01-02T15:04:05.000000000Z"

// cappedLog is an io.Writer over a container's current log that rotates past MaxLogBytes
// and begins each line with the time it is written (stampLayout).
type cappedLog struct {
	mu      sync.Mutex
	files   logFiles
	f       *os.File
	size    int64
	midLine bool // the last write ended without a newline
	buf     []byte
}

// openLog starts a container instance's log; the last instance's log becomes "previous".
func openLog(files logFiles, restart bool) (*cappedLog, error) {
	if err := os.MkdirAll(filepath.Dir(files.current), 0o700); err != nil {
		return nil, err
	}
	if restart {
		_ = os.Rename(files.current, files.previous)
		_ = os.Remove(files.rotated)
	}
	f, err := os.OpenFile(files.current, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	st, _ := f.Stat()
	return &cappedLog{files: files, f: f, size: st.Size()}, nil
}

func (l *cappedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	stamp := time.Now().UTC().AppendFormat(nil, stampLayout)
	l.buf = l.buf[:0]
	for rest := p; len(rest) > 0; {
		if !l.midLine {
			l.buf = append(append(l.buf, stamp...), ' ')
		}
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		l.buf = append(l.buf, line...)
		rest = rest[len(line):]
		l.midLine = line[len(line)-1] != '\n'
	}
	if _, err := l.write(l.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// write appends p to the file, rotating it first when p would take it past MaxLogBytes.
func (l *cappedLog) write(p []byte) (int, error) {
	if l.size+int64(len(p)) > MaxLogBytes && l.size > 0 {
		l.f.Close()
		_ = os.Rename(l.files.current, l.files.rotated)
		f, err := os.OpenFile(l.files.current, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return 0, err
		}
		l.f, l.size = f, 0
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

func (l *cappedLog) Close() error { return l.f.Close() }

// Logs writes a container's log: the last opts.Tail lines (all when negative), then, with
// opts.Follow, what it writes next until ctx ends or the pod is deleted; lines written
// before opts.Since are left out, and each line's time is shown with opts.Timestamps.
func (b *Backend) Logs(ctx context.Context, id, container string, opts backend.LogOptions, w io.Writer) error {
	lf := &logFilter{w: w, since: opts.Since, stamps: opts.Timestamps}
	err := b.logs(ctx, id, container, opts, lf)
	if ferr := lf.flush(); err == nil {
		err = ferr
	}
	return err
}

func (b *Backend) logs(ctx context.Context, id, container string, opts backend.LogOptions, w io.Writer) error {
	dir := b.podDir(id)
	if _, err := os.Stat(filepath.Join(dir, "pod.json")); err != nil {
		return fmt.Errorf("pod %s: %w", id, backend.ErrNotFound)
	}
	files := containerLogs(dir, container)
	if opts.Previous {
		data, err := os.ReadFile(files.previous)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("previous terminated container %q in pod %s not found", container, id)
		}
		_, err = w.Write(tail(data, opts.Tail))
		return err
	}
	rotated, _ := os.ReadFile(files.rotated)
	f, err := os.Open(files.current)
	if errors.Is(err, fs.ErrNotExist) {
		if !opts.Follow {
			return nil
		}
	} else if err != nil {
		return err
	}
	var current []byte
	if f != nil {
		current, _ = io.ReadAll(f)
	}
	if _, err := w.Write(tail(append(rotated, current...), opts.Tail)); err != nil || !opts.Follow {
		if f != nil {
			f.Close()
		}
		return err
	}
	return follow(ctx, f, files.current, dir, w)
}

// follow copies what is appended to a log file until ctx ends or the pod folder goes;
// it reopens the file when it is rotated.
func follow(ctx context.Context, f *os.File, path, podDir string, w io.Writer) error {
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		if f != nil {
			n, err := f.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return werr
				}
				continue
			}
			if err != nil && err != io.EOF {
				return err
			}
			if st, err := os.Stat(path); err == nil {
				if cur, _ := f.Stat(); cur != nil && !os.SameFile(st, cur) {
					f.Close()
					f = nil
				}
			}
		}
		if f == nil {
			f, _ = os.Open(path)
		}
		if _, err := os.Stat(podDir); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of data (all of it when n < 0).
func tail(data []byte, n int) []byte {
	if n < 0 {
		return data
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), MaxLogBytes)
	for sc.Scan() {
		lines = append(lines, append(sc.Bytes(), '\n'))
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return bytes.Join(lines, nil)
}

// logFilter reads stamped log lines (stampLayout): it drops those written before since,
// and shows each line's time (as kubectl's --timestamps, RFC 3339 with nanoseconds) or
// takes it off. A line without a stamp (written by an older supervisor) is kept as it is.
type logFilter struct {
	w      io.Writer
	since  time.Time
	stamps bool
	head   []byte // the start of a line, until it holds a stamp or ends
	inLine bool   // past the head of a line
	drop   bool   // the current line is left out
}

func (f *logFilter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if !f.inLine {
			i := bytes.IndexByte(p, '\n')
			want := len(stampLayout) + 1 - len(f.head)
			if i >= 0 && i < want {
				want = i + 1
			}
			want = min(want, len(p))
			f.head, p = append(f.head, p[:want]...), p[want:]
			if len(f.head) <= len(stampLayout) && f.head[len(f.head)-1] != '\n' {
				continue // the head is not complete yet
			}
			if err := f.decide(); err != nil {
				return n, err
			}
			continue
		}
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, f.inLine = p[:i+1], false
		}
		p = p[len(line):]
		if !f.drop {
			if _, err := f.w.Write(line); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// decide reads the stamp at the head of a line, if it has one, and writes the head.
func (f *logFilter) decide() error {
	head := f.head
	f.head, f.inLine, f.drop = f.head[:0], head[len(head)-1] != '\n', false
	if len(head) > len(stampLayout) && head[len(stampLayout)] == ' ' {
		if t, err := time.Parse(stampLayout, string(head[:len(stampLayout)])); err == nil {
			if f.drop = t.Before(f.since); f.drop {
				return nil
			}
			head = head[len(stampLayout)+1:]
			if f.stamps {
				head = append(append(t.AppendFormat(nil, time.RFC3339Nano), ' '), head...)
			}
		}
	}
	_, err := f.w.Write(head)
	return err
}

// flush writes a last line too short to hold a stamp.
func (f *logFilter) flush() error {
	if f.inLine || len(f.head) == 0 {
		return nil
	}
	_, err := f.w.Write(f.head)
	f.head = f.head[:0]
	return err
}
