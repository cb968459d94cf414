//go:build linux

package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/internal/parallel"
)

// An app's records live in one file, ROOT/records/APP/records.jsonl: one JSON object a
// line, a record as it was put or a deletion, the last line naming a record winning. A
// no-op sync then stats one file where it statted one for each record (two for each
// Deployment: 20,000 at 10,000 Deployments), and a write appends a line where it made a
// new file and renamed it into place. The log is rewritten with only its live records
// (compacted) when it holds more than twice as many lines as records.
//
// Writers (PutRecord, DeleteRecord, compaction, and the move of an older root's
// one-file-a-record folder into a log) hold an exclusive flock on the app's folder.
// Readers take no lock: a rewrite replaces the file by rename, and an append in
// progress, or one cut short by a crash, is a last line without its newline, which
// readers skip and the next writer cuts off before it appends.
const recordsLog = "records.jsonl"

// recordLine is one line of the log: a record, or (Deleted) its deletion. Data and
// Status are kept as JSON, not base64, so that the log reads, and can be edited, by hand.
type recordLine struct {
	Kind, Namespace, Name string
	Deleted               bool              `json:",omitempty"`
	Labels                map[string]string `json:",omitempty"`
	Created               time.Time         `json:",omitzero"`
	Data                  json.RawMessage   `json:",omitempty"`
	Status                json.RawMessage   `json:",omitempty"`
}

func (l *recordLine) key() string { return recordKey(l.Kind, l.Namespace, l.Name) }

// recordKey names a record within its app, as the files of an older root did.
func recordKey(kind, ns, name string) string { return kind + "_" + ns + "_" + name }

// recordLog is what this process knows of an app's log since it last read it whole:
// its lines and its live records, to tell when to compact it.
type recordLog struct {
	lines int
	live  map[string]bool
}

// recordsDir is the folder of an app's records.
func (b *Backend) recordsDir(app string) string { return filepath.Join(b.root, "records", app) }

// checkRecord refuses a record that could not be named in the records' folder.
func checkRecord(r backend.Record) error {
	app := r.Labels[backend.LabelApp]
	for i, part := range []string{app, r.Kind, r.Namespace, r.Name} {
		// a cluster-scoped object (a Namespace, a ClusterRole) has no namespace
		if part == "" && i != 2 || strings.ContainsAny(part, "/\\_\n") || part == "." || part == ".." {
			return fmt.Errorf("process: invalid record name %q", part)
		}
	}
	return nil
}

// PutRecord appends the record to its app's log.
func (b *Backend) PutRecord(ctx context.Context, r backend.Record) error {
	if err := checkRecord(r); err != nil {
		return err
	}
	for _, j := range []struct {
		what string
		v    []byte
	}{{"data", r.Data}, {"status", r.Status}} {
		if len(j.v) > 0 && !json.Valid(j.v) {
			return fmt.Errorf("process: record %s %s/%s: its %s is not JSON", r.Kind, r.Namespace, r.Name, j.what)
		}
	}
	return b.appendRecord(r.Labels[backend.LabelApp], recordLine{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
		Labels: r.Labels, Created: r.Created, Data: r.Data, Status: r.Status})
}

// DeleteRecord appends the record's deletion to its app's log. A record that is not
// there is not an error.
func (b *Backend) DeleteRecord(ctx context.Context, r backend.Record) error {
	if err := checkRecord(r); err != nil {
		return err
	}
	return b.appendRecord(r.Labels[backend.LabelApp], recordLine{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Deleted: true})
}

// appendRecord writes one line to the app's log, under the folder's lock; the first
// write of a process to an app moves an older root's record files into the log.
func (b *Backend) appendRecord(app string, l recordLine) error {
	var line bytes.Buffer
	if err := encodeLine(&line, &l); err != nil {
		return err
	}
	dir := b.recordsDir(app)
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := b.moveRecordFiles(app); err != nil {
		return err
	}
	path := filepath.Join(dir, recordsLog)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("process: %w", err)
	}
	err = cutTornLine(f)
	if err == nil {
		_, err = f.Write(line.Bytes())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("process: write %s: %w", path, err)
	}

	b.recordsMu.Lock()
	lg := b.recordLogs[app]
	compact := false
	if lg != nil {
		lg.lines++
		if l.Deleted {
			delete(lg.live, l.key())
		} else {
			lg.live[l.key()] = true
		}
		compact = lg.lines > 2*len(lg.live)+256
	}
	b.recordsMu.Unlock()
	if compact {
		// The line is written: a compaction that fails leaves the log longer, not wrong.
		_ = b.compactRecords(app)
	}
	return nil
}

// encodeLine writes a line of the log. HTML's characters are not escaped, so that data
// in compact JSON reads back the same bytes.
func encodeLine(w *bytes.Buffer, l *recordLine) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return fmt.Errorf("process: record %s %s/%s: %w", l.Kind, l.Namespace, l.Name, err)
	}
	return nil
}

// lockDir takes an exclusive flock on a folder, made if missing, for the records'
// writers of its app.
func lockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("process: open %s: %w", dir, err)
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("process: lock %s: %w", dir, err)
	}
	return func() { unix.Close(fd) }, nil
}

// cutTornLine cuts off a last line without its newline: an append that a crash cut
// short, never acknowledged to its writer.
func cutTornLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	size := st.Size()
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	// find the last newline, reading backwards a block at a time; a last line that is a
	// whole JSON object (a hand edit that left out the newline) gets one instead
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return cutOrEnd(f, start+int64(i)+1, size)
		}
		end = start
	}
	return cutOrEnd(f, 0, size)
}

// cutOrEnd ends the file's last line, from offset from to size: with a newline when it
// is whole JSON, else by cutting it off.
func cutOrEnd(f *os.File, from, size int64) error {
	tail := make([]byte, size-from)
	if _, err := f.ReadAt(tail, from); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if json.Valid(tail) {
		_, err := f.Write([]byte{'\n'}) // O_APPEND: at the end
		return err
	}
	return f.Truncate(from)
}

// ListRecords returns the records the selector matches.
func (b *Backend) ListRecords(ctx context.Context, selector map[string]string) ([]backend.Record, error) {
	apps := []string{selector[backend.LabelApp]}
	if apps[0] == "" {
		var err error
		if apps, err = dirNames(filepath.Join(b.root, "records")); err != nil {
			return nil, err
		}
	}
	var out []backend.Record
	for _, app := range apps {
		if strings.HasPrefix(app, ".") || strings.ContainsAny(app, "/\\") {
			continue
		}
		records, err := b.readRecords(app)
		if err != nil {
			return nil, err
		}
		for _, r := range records {
			if backend.Matches(r.Labels, selector) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// readRecords reads an app's live records, sorted by kind, namespace and name: from its
// log, or from the record files of an older root whose log is not made yet.
func (b *Backend) readRecords(app string) ([]backend.Record, error) {
	dir := b.recordsDir(app)
	path := filepath.Join(dir, recordsLog)
	data, err := os.ReadFile(path)
	var out []backend.Record
	lines := 0
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// an older root's files, which the first write moves into a log of as many lines
		if out, err = readRecordFiles(dir); err != nil {
			return nil, err
		}
		lines = len(out)
		if _, serr := os.Stat(path); serr == nil {
			// moved into the log meanwhile: the files read may be missing some
			return b.readRecords(app)
		}
	case err != nil:
		return nil, fmt.Errorf("process: %w", err)
	default:
		var latest map[string]*recordLine
		if latest, lines, err = parseRecordLog(path, data); err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(latest))
		for k := range latest {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out = make([]backend.Record, len(keys))
		for i, k := range keys {
			l := latest[k]
			out[i] = backend.Record{Kind: l.Kind, Namespace: l.Namespace, Name: l.Name, Labels: l.Labels, Created: l.Created,
				Data: []byte(l.Data), Status: []byte(l.Status)}
			if len(l.Status) == 0 {
				out[i].Status = nil
			}
		}
	}
	live := make(map[string]bool, len(out))
	for _, r := range out {
		live[recordKey(r.Kind, r.Namespace, r.Name)] = true
	}
	b.recordsMu.Lock()
	if b.recordLogs == nil {
		b.recordLogs = map[string]*recordLog{}
	}
	b.recordLogs[app] = &recordLog{lines: lines, live: live}
	b.recordsMu.Unlock()
	return out, nil
}

// parseRecordLog parses a log's complete lines, on every core, and returns the last line
// of each live record and how many lines it has. A line that is not a record is an
// error naming the file and the line: the log was edited by hand.
func parseRecordLog(path string, data []byte) (map[string]*recordLine, int, error) {
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 && !json.Valid(data[i+1:]) {
		data = data[:i+1] // an append in progress, or cut short: not a record yet
	}
	var starts []int
	for i := 0; i < len(data); {
		starts = append(starts, i)
		n := bytes.IndexByte(data[i:], '\n')
		if n < 0 {
			break // a whole last line without its newline
		}
		i += n + 1
	}
	const chunk = 512
	parsed, err := parallel.Map((len(starts)+chunk-1)/chunk, func(c int) ([]recordLine, error) {
		lo, hi := c*chunk, min(len(starts), (c+1)*chunk)
		ls := make([]recordLine, hi-lo)
		for i := lo; i < hi; i++ {
			end := len(data)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			text := bytes.TrimSpace(data[starts[i]:end])
			l := &ls[i-lo]
			if len(text) == 0 {
				continue // a blank line, left by a hand edit
			}
			if err := json.Unmarshal(text, l); err != nil {
				return nil, fmt.Errorf("process: %s:%d: %w", path, i+1, err)
			}
			if l.Kind == "" || l.Name == "" {
				return nil, fmt.Errorf("process: %s:%d: a record needs a Kind and a Name", path, i+1)
			}
		}
		return ls, nil
	})
	if err != nil {
		return nil, 0, err
	}
	latest := map[string]*recordLine{}
	for _, ls := range parsed {
		for i := range ls {
			l := &ls[i]
			if l.Kind == "" {
				continue
			}
			if l.Deleted {
				delete(latest, l.key())
			} else {
				latest[l.key()] = l
			}
		}
	}
	return latest, len(starts), nil
}

// readRecordFiles reads the records of an older root, one file a record
// (KIND_NAMESPACE_NAME.json), sorted by name.
func readRecordFiles(dir string) ([]backend.Record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	records, err := parallel.Map(len(files), func(i int) (*backend.Record, error) {
		var r backend.Record
		if err := readJSON(files[i], &r); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil // deleted meanwhile (moved into a log)
			}
			return nil, fmt.Errorf("process: read record %s: %w", files[i], err)
		}
		return &r, nil
	})
	if err != nil {
		return nil, err
	}
	var out []backend.Record
	for _, r := range records {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

// moveRecordFiles moves the record files of an older root into the app's log, once a
// process: it writes the log whole, then removes the files. A crash between the two
// leaves both; the log, complete, wins, and the files left are removed next time. The
// caller holds the folder's lock.
func (b *Backend) moveRecordFiles(app string) error {
	b.recordsMu.Lock()
	done := b.recordsMoved[app]
	b.recordsMu.Unlock()
	if done {
		return nil
	}
	dir := b.recordsDir(app)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	if len(files) > 0 {
		if _, err := os.Stat(filepath.Join(dir, recordsLog)); errors.Is(err, fs.ErrNotExist) {
			records, err := readRecordFiles(dir)
			if err != nil {
				return err
			}
			if err := writeRecordLog(dir, records); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("process: %w", err)
		}
		for _, f := range files {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("process: %w", err)
			}
		}
	}
	b.recordsMu.Lock()
	if b.recordsMoved == nil {
		b.recordsMoved = map[string]bool{}
	}
	b.recordsMoved[app] = true
	b.recordsMu.Unlock()
	return nil
}

// compactRecords rewrites an app's log with only its live records. The caller holds
// the folder's lock.
func (b *Backend) compactRecords(app string) error {
	dir := b.recordsDir(app)
	records, err := b.readRecords(app)
	if err != nil {
		return err
	}
	if err := writeRecordLog(dir, records); err != nil {
		return err
	}
	b.recordsMu.Lock()
	if lg := b.recordLogs[app]; lg != nil {
		lg.lines = len(records)
	}
	b.recordsMu.Unlock()
	return nil
}

// writeRecordLog writes a log of records, whole, in place of the folder's log.
func writeRecordLog(dir string, records []backend.Record) error {
	var buf bytes.Buffer
	for _, r := range records {
		if err := encodeLine(&buf, &recordLine{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Labels: r.Labels,
			Created: r.Created, Data: r.Data, Status: r.Status}); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(dir, recordsLog), buf.Bytes()); err != nil {
		return fmt.Errorf("process: %w", err)
	}
	return nil
}

// recordsState is the Backend's memory of the records' logs.
type recordsState struct {
	recordsMu    sync.Mutex
	recordLogs   map[string]*recordLog // by app: see recordLog
	recordsMoved map[string]bool       // apps whose older record files were looked for
}
