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

// cappedLog is an io.Writer over a container's current log that rotates past MaxLogBytes.
type cappedLog struct {
	mu    sync.Mutex
	files logFiles
	f     *os.File
	size  int64
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
// opts.Follow, what it writes next until ctx ends or the pod is deleted.
func (b *Backend) Logs(ctx context.Context, id, container string, opts backend.LogOptions, w io.Writer) error {
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
