//go:build linux

package process

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
)

var _ backend.Meter = (*Backend)(nil)

// sampleInterval is how long Measure watches the containers' CPU time: kubectl top shows
// the metrics server's rate over its window; one short window keeps `kgit top` quick.
const sampleInterval = 500 * time.Millisecond

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100 on every Linux
// architecture Go supports (it is fixed by the kernel's ABI, not by its HZ).
const clockTicks = 100

// Measure implements backend.Meter from /proc: a container is its process group (its
// first process leads one), and its use is the sum over the group's processes of the
// resident memory and of the CPU time spent during sampleInterval.
func (b *Backend) Measure(ctx context.Context, pods []*backend.Pod) (map[string][]backend.Usage, error) {
	groups := map[int]bool{} // the running containers' process groups
	leaders := make([]map[string]int, len(pods))
	for i, p := range pods {
		var st statusFile
		if readStatus(b.podDir(p.ID), &st) != nil {
			continue
		}
		leaders[i] = map[string]int{}
		for name, proc := range st.Procs {
			if proc.Alive() {
				groups[proc.PID], leaders[i][name] = true, proc.PID
			}
		}
	}
	out := map[string][]backend.Usage{}
	if len(groups) == 0 {
		return out, nil
	}
	first, start := sampleGroups(groups), time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(sampleInterval):
	}
	second, elapsed := sampleGroups(groups), time.Since(start)
	pageSize := int64(os.Getpagesize())
	for i, p := range pods { // in the pods' and containers' order
		for _, c := range append(append(p.Spec.InitContainers[:0:0], p.Spec.InitContainers...), p.Spec.Containers...) {
			pgid, ok := leaders[i][c.Name]
			now, alive := second[pgid]
			if !ok || !alive {
				continue // not running, or it ended meanwhile
			}
			ticks := max(0, int64(now.ticks)-int64(first[pgid].ticks))
			milli := ticks * 1000 * int64(time.Second) / clockTicks / int64(elapsed)
			out[p.ID] = append(out[p.ID], backend.Usage{Container: c.Name, CPUMilli: milli, MemoryBytes: now.rssPages * pageSize})
		}
	}
	return out, nil
}

// groupSample is what the processes of one process group use at one moment.
type groupSample struct {
	ticks    uint64 // user and system CPU time, in clockTicks
	rssPages int64
}

// sampleGroups reads every process's /proc/PID/stat once and sums the use of those whose
// process group is in groups.
func sampleGroups(groups map[int]bool) map[int]groupSample {
	out := map[int]groupSample{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // it ended
		}
		i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // f[0] is field 3 of stat(5)
		if len(f) < 22 {
			continue
		}
		pgrp, _ := strconv.Atoi(f[2])
		if !groups[pgrp] {
			continue
		}
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		rss, _ := strconv.ParseInt(f[21], 10, 64)
		s := out[pgrp]
		s.ticks += utime + stime
		s.rssPages += rss
		out[pgrp] = s
	}
	return out
}
