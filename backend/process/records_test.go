//go:build linux

package process

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kgit.dev/kgit/backend"
)

func testRecord(app, name, data string) backend.Record {
	return backend.Record{Kind: "Deployment", Namespace: "default", Name: name, Created: time.Unix(1, 0).UTC(),
		Labels: map[string]string{backend.LabelApp: app}, Data: []byte(data)}
}

func listNames(t *testing.T, b *Backend, app string) string {
	t.Helper()
	recs, err := b.ListRecords(context.Background(), map[string]string{backend.LabelApp: app})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.Name+"="+string(r.Data))
	}
	return strings.Join(names, " ")
}

// TestRecordLog: puts and deletions read back, the last line winning; data keeps its
// bytes (HTML's characters too); a torn last line is skipped by readers and cut off by
// the next writer; a line edited into something that is not a record names the file and
// the line.
func TestRecordLog(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	b := New(root, "")
	for _, r := range []backend.Record{testRecord("a", "x", `{"v":1}`), testRecord("a", "y", `{"v":"<&>"}`),
		testRecord("a", "x", `{"v":2}`), testRecord("other", "z", `{}`)} {
		if err := b.PutRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.DeleteRecord(ctx, testRecord("a", "gone", "")); err != nil {
		t.Fatalf("deleting a record that is not there: %v", err)
	}
	if got, want := listNames(t, b, "a"), `x={"v":2} y={"v":"<&>"}`; got != want {
		t.Errorf("records %s, want %s", got, want)
	}
	all, err := b.ListRecords(ctx, nil)
	if err != nil || len(all) != 3 {
		t.Errorf("all apps: %d records, %v; want 3", len(all), err)
	}
	if err := b.PutRecord(ctx, testRecord("a", "bad", `{"v":`)); err == nil {
		t.Error("a record whose data is not JSON was kept")
	}

	path := filepath.Join(root, "records", "a", recordsLog)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"Kind":"Deployment","Namespace":"default","Name":"torn","Da`)
	f.Close()
	if got, want := listNames(t, b, "a"), `x={"v":2} y={"v":"<&>"}`; got != want {
		t.Errorf("with a torn last line: %s, want %s", got, want)
	}
	if err := b.DeleteRecord(ctx, testRecord("a", "y", "")); err != nil {
		t.Fatal(err)
	}
	if got, want := listNames(t, b, "a"), `x={"v":2}`; got != want {
		t.Errorf("after a write behind a torn line: %s, want %s", got, want)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "torn") {
		t.Errorf("the torn line was not cut off:\n%s", data)
	}

	lines := strings.SplitAfter(string(data), "\n")
	lines[1] = `{"Kind":"Deployment","Name":` + "\n"
	os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600)
	_, err = b.ListRecords(ctx, map[string]string{backend.LabelApp: "a"})
	if err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("a broken line: %v, want an error naming %s:2", err, path)
	}
}

// TestRecordFilesMoved: an older root's records, one file each, are read as they are,
// and moved into the log by the first write; files left beside a complete log (a crash
// after the log was written) are removed, the log winning.
func TestRecordFilesMoved(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "records", "a")
	os.MkdirAll(dir, 0o700)
	for _, name := range []string{"x", "y"} {
		data, _ := json.Marshal(testRecord("a", name, `{"old":true}`))
		os.WriteFile(filepath.Join(dir, "Deployment_default_"+name+".json"), data, 0o600)
	}
	b := New(root, "")
	if got, want := listNames(t, b, "a"), `x={"old":true} y={"old":true}`; got != want {
		t.Errorf("an older root's records: %s, want %s", got, want)
	}
	if err := b.PutRecord(ctx, testRecord("a", "y", `{"new":true}`)); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(left) != 0 {
		t.Errorf("record files left after the move: %v", left)
	}
	if got, want := listNames(t, New(root, ""), "a"), `x={"old":true} y={"new":true}`; got != want {
		t.Errorf("after the move: %s, want %s", got, want)
	}

	// a file left beside the log loses to it, and goes with the next write
	data, _ := json.Marshal(testRecord("a", "x", `{"stale":true}`))
	os.WriteFile(filepath.Join(dir, "Deployment_default_x.json"), data, 0o600)
	b = New(root, "")
	if got, want := listNames(t, b, "a"), `x={"old":true} y={"new":true}`; got != want {
		t.Errorf("with a file left beside the log: %s, want %s", got, want)
	}
	if err := b.PutRecord(ctx, testRecord("a", "z", `{}`)); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(left) != 0 {
		t.Errorf("a file left beside the log is still there: %v", left)
	}
}

// TestRecordLogCompacted: a log rewritten over and over is compacted, keeping exactly
// its live records; writers in many goroutines lose nothing.
func TestRecordLogCompacted(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	b := New(root, "")
	listNames(t, b, "a") // a sync reads the records before it writes them
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				r := testRecord("a", fmt.Sprintf("w%d-%d", w, i%20), fmt.Sprintf(`{"i":%d}`, i))
				if err := b.PutRecord(ctx, r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	data, err := os.ReadFile(filepath.Join(root, "records", "a", recordsLog))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n > 2*80+256 {
		t.Errorf("the log has %d lines for 80 records, after 1200 writes: not compacted", n)
	}
	recs, err := New(root, "").ListRecords(ctx, map[string]string{backend.LabelApp: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 80 {
		t.Fatalf("%d records, want 80", len(recs))
	}
	for _, r := range recs {
		var v struct{ I int }
		json.Unmarshal(r.Data, &v)
		if v.I < 280 {
			t.Errorf("%s holds write %d, not one of the last", r.Name, v.I)
		}
	}
}

// TestRecordLogLastLineByHand: a last line that is a whole record without its newline
// (an editor that leaves it out) is read, and kept by the next write.
func TestRecordLogLastLineByHand(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	b := New(root, "")
	if err := b.PutRecord(ctx, testRecord("a", "x", `{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "records", "a", recordsLog)
	data, _ := os.ReadFile(path)
	edited := strings.Replace(strings.TrimSuffix(string(data), "\n"), `{"v":1}`, `{"v":9}`, 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := listNames(t, b, "a"), `x={"v":9}`; got != want {
		t.Errorf("a last line without its newline: %s, want %s", got, want)
	}
	if err := b.PutRecord(ctx, testRecord("a", "y", `{}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := listNames(t, b, "a"), `x={"v":9} y={}`; got != want {
		t.Errorf("after the next write: %s, want %s", got, want)
	}
}
