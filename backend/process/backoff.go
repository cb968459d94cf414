package process

import "time"

// Backoff is the kubelet's CrashLoopBackOff: the first restart is immediate, then 10 s
// doubling to 300 s; it starts over once a container ran longer than twice the cap since
// its last restart.
type Backoff struct {
	Initial, Max time.Duration
	cur          time.Duration
	lastRestart  time.Time
	started      bool
}

// NewBackoff returns the kubelet's container restart back-off.
func NewBackoff() *Backoff { return &Backoff{Initial: 10 * time.Second, Max: 300 * time.Second} }

// Next returns how long to wait before restarting a container that finished at
// finishedAt, and counts that restart.
func (b *Backoff) Next(finishedAt time.Time) time.Duration {
	if !b.started || finishedAt.Sub(b.lastRestart) > 2*b.Max {
		b.started, b.cur, b.lastRestart = true, b.Initial, finishedAt
		return 0
	}
	delay := b.cur
	b.cur = min(2*b.cur, b.Max)
	b.lastRestart = finishedAt.Add(delay)
	return delay
}
