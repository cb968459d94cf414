package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kgit.dev/kgit/manifest"
)

// An object read back from a cluster has its keys sorted; git has them as written: the
// same value is no change to apply.
func TestSameJSON(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`{"kind":"Widget","spec":{"b":1,"a":[1,2]}}`, `{"spec":{"a":[1,2],"b":1},"kind":"Widget"}`, true},
		{`{"a":1}`, `{"a":1}`, true},
		{`{"spec":{"a":[1,2]}}`, `{"spec":{"a":[2,1]}}`, false},
		{`{"a":1}`, `{"a":"1"}`, false},
		{`{"a":1}`, `not json`, false},
	} {
		if got := sameJSON([]byte(tc.a), []byte(tc.b)); got != tc.same {
			t.Errorf("sameJSON(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}

// slowTarget applies nothing until ctx ends, then fails as a client whose request was
// refused for the deadline does: with an error that does not say it is a timeout.
type slowTarget struct{ Target }

type emptyLive struct{}

func (emptyLive) Applied() map[manifest.Key]*Applied { return nil }
func (emptyLive) Running() bool                      { return false }

func (slowTarget) Load(context.Context) (Live, error) { return emptyLive{}, nil }
func (slowTarget) Apply(ctx context.Context, _ Live, _ *Applied) error {
	<-ctx.Done()
	return errors.New("rate: Wait(n=1) would exceed context deadline")
}

// A sync whose ctx ends while it applies is a timeout (exit 2), not a failure.
func TestSyncTimeoutWhileApplying(t *testing.T) {
	objs, err := manifest.Parse([]manifest.File{{Path: "cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = (&Syncer{Target: slowTarget{}}).Sync(ctx, objs, SyncOptions{Commit: "c1"})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "would exceed") {
		t.Errorf("sync timing out while applying: %v", err)
	}
}
