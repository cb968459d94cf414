package reconcile

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Journal is the local record of syncs and events, in the state directory. It is
// disposable: losing it loses history, never correctness.
type Journal struct {
	path    string
	mu      sync.Mutex
	pending []Event
	syncs   []SyncRecord
}

// SyncRecord is one sync as the journal keeps it.
type SyncRecord struct {
	App      string        `json:"app"`
	Commit   string        `json:"commit"`
	User     string        `json:"user"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	Result   string        `json:"result"`
	// The source it synced (absent from records older than these fields): what the
	// web view shows of the app and diffs it against.
	Repo string `json:"repo,omitempty"`
	Path string `json:"path,omitempty"`
	Ref  string `json:"ref,omitempty"`
}

var (
	eventsBucket = []byte("events")
	syncsBucket  = []byte("syncs")
)

// OpenJournal returns the journal in stateDir; it is written on Close.
func OpenJournal(stateDir string) *Journal {
	return &Journal{path: filepath.Join(stateDir, "journal.db")}
}

// Event implements EventSink: events are kept and written on Close.
func (j *Journal) Event(e Event) {
	j.mu.Lock()
	j.pending = append(j.pending, e)
	j.mu.Unlock()
}

// RecordSync adds a sync to the journal.
func (j *Journal) RecordSync(s SyncRecord) {
	j.mu.Lock()
	j.syncs = append(j.syncs, s)
	j.mu.Unlock()
}

// Close writes what was recorded, in one transaction.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.pending) == 0 && len(j.syncs) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(j.path), 0o700); err != nil {
		return err
	}
	db, err := bolt.Open(j.path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, item := range []struct {
			bucket []byte
			values []any
		}{{eventsBucket, anys(j.pending)}, {syncsBucket, anys(j.syncs)}} {
			b, err := tx.CreateBucketIfNotExists(item.bucket)
			if err != nil {
				return err
			}
			for _, v := range item.values {
				seq, _ := b.NextSequence()
				data, _ := json.Marshal(v)
				if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), data); err != nil {
					return err
				}
			}
		}
		return nil
	})
	j.pending, j.syncs = nil, nil
	return err
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Events returns the journalled events of an app ("" for all), oldest first.
func (j *Journal) Events(app string) ([]Event, error) {
	events, _, err := j.Read(app)
	return events, err
}

// Read returns the journalled events and syncs of an app ("" for all), oldest first,
// in one read of the journal.
func (j *Journal) Read(app string) ([]Event, []SyncRecord, error) {
	if _, err := os.Stat(j.path); err != nil {
		return nil, nil, nil
	}
	db, err := bolt.Open(j.path, 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	defer db.Close()
	var events []Event
	var syncs []SyncRecord
	err = db.View(func(tx *bolt.Tx) error {
		if err := readBucket(tx, eventsBucket, func(e Event) bool { return app == "" || e.App == app }, &events); err != nil {
			return err
		}
		return readBucket(tx, syncsBucket, func(s SyncRecord) bool { return app == "" || s.App == app }, &syncs)
	})
	return events, syncs, err
}

func readBucket[T any](tx *bolt.Tx, name []byte, keep func(T) bool, out *[]T) error {
	b := tx.Bucket(name)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var x T
		if json.Unmarshal(v, &x) == nil && keep(x) {
			*out = append(*out, x)
		}
		return nil
	})
}
