package docker

import (
	"context"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
)

// inspectFresh is how long an inspection of a container stands while the engine's
// listing shows it unchanged: a sync's waits look at the pods ten times a second and a
// proxy four times, and each look inspected every container, which made kgit a load on
// the engine while it was busiest (starting the pods kgit waits for). The listing's
// status ("Up 3 seconds") changes at least every second while a container is young, and
// with any restart, so a container is inspected again at the latest a second later.
const inspectFresh = time.Second

// inspections are the containers' last inspections, by ID.
type inspections struct {
	mu sync.Mutex
	m  map[string]inspection
}

type inspection struct {
	at     time.Time
	status string // the listing's state and status when it was taken
	res    container.InspectResponse
}

// inspect returns the container's inspection, taken again unless the one taken less
// than inspectFresh ago saw the same listing.
func (b *Backend) inspect(ctx context.Context, sum container.Summary) (container.InspectResponse, error) {
	status := string(sum.State) + "/" + sum.Status
	now := time.Now()
	b.inspected.mu.Lock()
	if in, ok := b.inspected.m[sum.ID]; ok && in.status == status && now.Sub(in.at) < inspectFresh {
		b.inspected.mu.Unlock()
		return in.res, nil
	}
	b.inspected.mu.Unlock()
	res, err := b.cli.ContainerInspect(ctx, sum.ID)
	if err != nil {
		return res, err
	}
	b.inspected.mu.Lock()
	defer b.inspected.mu.Unlock()
	if b.inspected.m == nil || len(b.inspected.m) > 4096 {
		b.inspected.m = map[string]inspection{}
	}
	for id, in := range b.inspected.m { // forget what has not been looked at lately
		if now.Sub(in.at) > time.Minute {
			delete(b.inspected.m, id)
		}
	}
	b.inspected.m[sum.ID] = inspection{at: now, status: status, res: res}
	return res, nil
}
