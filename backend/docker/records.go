package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/volume"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker/engine"
)

// Records are volumes whose labels hold the object: labels cannot change, so an update
// creates the next generation and removes the older ones; a reader takes the newest, so
// a crash between the two steps loses nothing.
const (
	// RecordLabel marks a record's volumes.
	RecordLabel     = "kgit.dev/record"
	labelRecord     = RecordLabel
	labelKind       = "kgit.dev/record-kind"
	labelName       = "kgit.dev/record-name"
	labelGeneration = "kgit.dev/record-generation"
	labelCreatedAt  = "kgit.dev/record-created"
	labelData       = "kgit.dev/record-data"
	labelStatus     = "kgit.dev/record-status"
)

func recordKey(r backend.Record) string {
	sum := sha256.Sum256([]byte(r.Labels[backend.LabelApp] + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name))
	return hex.EncodeToString(sum[:8])
}

// PutRecord implements backend.Backend.
func (b *Backend) PutRecord(ctx context.Context, r backend.Record) error {
	gen := time.Now().UnixNano()
	labels := map[string]string{labelRecord: recordKey(r), labelKind: r.Kind, labelName: r.Name,
		labelGeneration: strconv.FormatInt(gen, 10), labelCreatedAt: r.Created.Format(time.RFC3339Nano),
		labelData: string(r.Data), labelStatus: string(r.Status)}
	for k, v := range r.Labels {
		labels[k] = v
	}
	labels[backend.LabelNamespace] = r.Namespace
	name := fmt.Sprintf("kgit-record-%s-%d", recordKey(r), gen)
	if _, err := b.cli.VolumeCreate(ctx, volume.CreateRequest{Name: name, Labels: labels}); err != nil {
		return fmt.Errorf("docker: save record %s/%s: %w", r.Kind, r.Name, err)
	}
	return b.dropGenerations(ctx, recordKey(r), gen)
}

// dropGenerations removes a record's volumes older than keep (all of them when keep is 0).
func (b *Backend) dropGenerations(ctx context.Context, key string, keep int64) error {
	vols, err := b.volumeList(ctx, map[string]string{labelRecord: key})
	if err != nil {
		return fmt.Errorf("docker: list records: %w", err)
	}
	for _, v := range vols {
		if g, _ := strconv.ParseInt(v.Labels[labelGeneration], 10, 64); keep == 0 || g < keep {
			if err := b.cli.VolumeRemove(ctx, v.Name, true); err != nil && !noSuch(err) {
				return fmt.Errorf("docker: remove record %s: %w", v.Name, err)
			}
		}
	}
	return nil
}

// ListRecords implements backend.Backend: the newest generation of each record.
func (b *Backend) ListRecords(ctx context.Context, selector map[string]string) ([]backend.Record, error) {
	sel := map[string]string{labelRecord: ""}
	for k, v := range selector {
		sel[k] = v
	}
	vols, err := b.volumeList(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("docker: list records: %w", err)
	}
	newest := map[string]int64{}
	byKey := map[string]backend.Record{}
	_, routes := selector[labelRoute]
	for _, v := range vols {
		if _, route := v.Labels[labelRoute]; route != routes {
			continue // Services' routes are the backend's own records
		}
		key := v.Labels[labelRecord]
		g, _ := strconv.ParseInt(v.Labels[labelGeneration], 10, 64)
		if g <= newest[key] {
			continue
		}
		newest[key] = g
		r := backend.Record{Kind: v.Labels[labelKind], Namespace: v.Labels[backend.LabelNamespace], Name: v.Labels[labelName],
			Labels: map[string]string{}, Data: []byte(v.Labels[labelData])}
		if s := v.Labels[labelStatus]; s != "" {
			r.Status = []byte(s)
		}
		r.Created, _ = time.Parse(time.RFC3339Nano, v.Labels[labelCreatedAt])
		for k, val := range v.Labels {
			if strings.HasPrefix(k, "kgit.dev/") && !strings.HasPrefix(k, "kgit.dev/record") {
				r.Labels[k] = val
			}
		}
		byKey[key] = r
	}
	out := make([]backend.Record, 0, len(byKey))
	for _, r := range byKey {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Name < out[j].Kind+out[j].Name })
	return out, nil
}

// volumeList lists the volumes whose labels match selector (a value "" asks only
// for the label). The engine filters, and the labels are checked again here: Podman
// 4 takes a volume that matches any one of several label filters.
func (b *Backend) volumeList(ctx context.Context, selector map[string]string) ([]volume.Volume, error) {
	f := make(engine.Filters)
	for k, v := range selector {
		if v == "" {
			f = f.Add("label", k)
		} else {
			f = f.Add("label", k+"="+v)
		}
	}
	res, err := b.cli.VolumeList(ctx, f)
	if err != nil {
		return nil, err
	}
	out := res[:0]
	for _, v := range res {
		if matches(v.Labels, selector) {
			out = append(out, v)
		}
	}
	return out, nil
}

// matches reports whether labels carry every label of selector (a value "" asks only
// for the label).
func matches(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || v != "" && got != v {
			return false
		}
	}
	return true
}

// DeleteRecord implements backend.Backend.
func (b *Backend) DeleteRecord(ctx context.Context, r backend.Record) error {
	return b.dropGenerations(ctx, recordKey(r), 0)
}

// lockTTL is how long a lock whose holder stopped renewing it is honoured; a holder
// renews it every lockTTL/4 while it runs.
const lockTTL = 2 * time.Minute

// Lock takes the per-app lock: a named volume that the engine creates atomically (the
// first creator's labels win), recording its holder. Two kgit on two machines against
// one engine exclude each other. Volume labels cannot change, so the holder proves it
// is alive with "-alive-UNIXTIME" volumes beside the lock; a lock without a sign of life
// for lockTTL is taken over.
func (b *Backend) Lock(ctx context.Context, app string, wait time.Duration) (func(), error) {
	host, _ := os.Hostname()
	holder := fmt.Sprintf("pid %d on %s", os.Getpid(), host)
	token := fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano())
	name := "kgit-lock-" + app
	deadline := time.Now().Add(wait)
	for {
		res, err := b.cli.VolumeCreate(ctx, volume.CreateRequest{Name: name, Labels: map[string]string{
			backend.LabelManagedBy: backend.ManagedBy, backend.LabelApp: app, "kgit.dev/lock-token": token,
			"kgit.dev/lock-holder": holder, "kgit.dev/lock-since": strconv.FormatInt(time.Now().Unix(), 10)}})
		if err != nil && alreadyExists(err) {
			// Podman: another kgit created it between Podman's look and its create; the
			// next look finds the holder
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("docker: lock app %s: %w", app, err)
		}
		v := res
		if v.Labels["kgit.dev/lock-token"] == token {
			stop := make(chan struct{})
			go b.keepAlive(name, stop)
			return func() {
				close(stop)
				ctx := context.WithoutCancel(ctx)
				_ = b.cli.VolumeRemove(ctx, name, true)
				b.removeAlive(ctx, name, time.Now().Unix()+1)
			}, nil
		}
		since, _ := strconv.ParseInt(v.Labels["kgit.dev/lock-since"], 10, 64)
		if time.Since(time.Unix(max(since, b.lastAlive(ctx, name)), 0)) > lockTTL {
			_ = b.cli.VolumeRemove(ctx, name, true)
			continue
		}
		if time.Now().After(deadline) {
			return nil, &backend.LockedError{App: app, Holder: v.Labels["kgit.dev/lock-holder"], Since: time.Unix(since, 0)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (b *Backend) keepAlive(name string, stop chan struct{}) {
	t := time.NewTicker(lockTTL / 4)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			now := time.Now().Unix()
			_, _ = b.cli.VolumeCreate(context.Background(), volume.CreateRequest{Name: fmt.Sprintf("%s-alive-%d", name, now),
				Labels: map[string]string{backend.LabelManagedBy: backend.ManagedBy, "kgit.dev/lock-alive": name}})
			b.removeAlive(context.Background(), name, now)
		}
	}
}

// aliveVolumes returns the sign-of-life volumes of a lock by their time.
func (b *Backend) aliveVolumes(ctx context.Context, name string) map[string]int64 {
	out := map[string]int64{}
	vols, err := b.volumeList(ctx, map[string]string{"kgit.dev/lock-alive": name})
	if err != nil {
		return out
	}
	for _, v := range vols {
		t, _ := strconv.ParseInt(strings.TrimPrefix(v.Name, name+"-alive-"), 10, 64)
		out[v.Name] = t
	}
	return out
}

func (b *Backend) lastAlive(ctx context.Context, name string) int64 {
	var last int64
	for _, t := range b.aliveVolumes(ctx, name) {
		last = max(last, t)
	}
	return last
}

// removeAlive removes a lock's sign-of-life volumes older than before.
func (b *Backend) removeAlive(ctx context.Context, name string, before int64) {
	for v, t := range b.aliveVolumes(ctx, name) {
		if t < before {
			_ = b.cli.VolumeRemove(ctx, v, true)
		}
	}
}

// Logs implements backend.Backend. The engine keeps one log per container across
// restarts, so --previous is not available.
func (b *Backend) Logs(ctx context.Context, id, container string, opts backend.LogOptions, w io.Writer) error {
	if opts.Previous {
		return fmt.Errorf("the docker backend keeps one log per container across restarts: --previous is not available")
	}
	ns, rest, _ := strings.Cut(id, "_")
	name, uid, _ := strings.Cut(rest, "_")
	res, err := b.containerList(ctx, make(engine.Filters).
		Add("label", backend.LabelNamespace+"="+ns).Add("label", labelPod+"="+name).Add("label", labelPodUID+"="+uid).
		Add("label", labelContainer+"="+container))
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	if len(res) == 0 {
		return fmt.Errorf("pod %s: %w", name, backend.ErrNotFound)
	}
	tail := "all"
	if opts.Tail >= 0 {
		tail = strconv.Itoa(opts.Tail)
	}
	lo := engine.LogsOptions{Follow: opts.Follow, Tail: tail, Timestamps: opts.Timestamps}
	if !opts.Since.IsZero() {
		lo.Since = fmt.Sprintf("%d.%09d", opts.Since.Unix(), opts.Since.Nanosecond())
	}
	rc, err := b.cli.ContainerLogs(ctx, res[0].ID, lo)
	if err != nil {
		return fmt.Errorf("docker: logs of %s: %w", name, err)
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(w, w, rc)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

var _ backend.Backend = (*Backend)(nil)
