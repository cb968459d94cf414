package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"

	"kgit.dev/kgit/backend"
)

var _ backend.Meter = (*Backend)(nil)

// Measure implements backend.Meter through the engine's stats: one sample per running
// container, with the engine's previous one (a second before), all containers at once.
// CPU is the container's share of the host's CPU time between the two, in millicores;
// memory is the working set (usage less inactive file pages), as the kubelet reports it.
func (b *Backend) Measure(ctx context.Context, pods []*backend.Pod) (map[string][]backend.Usage, error) {
	type job struct {
		pod   string
		usage backend.Usage
		name  string
		err   error
	}
	var jobs []*job
	for _, p := range pods {
		for _, c := range append(append(p.Status.InitContainers[:0:0], p.Status.InitContainers...), p.Status.Containers...) {
			if c.State == backend.StateRunning {
				jobs = append(jobs, &job{pod: p.ID, usage: backend.Usage{Container: c.Name}, name: containerName(p.Namespace, p.Name, c.Name)})
			}
		}
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.usage.CPUMilli, j.usage.MemoryBytes, j.err = b.stats(ctx, j.name)
		}()
	}
	wg.Wait()
	out := map[string][]backend.Usage{}
	for _, j := range jobs {
		if j.err != nil {
			return nil, j.err
		}
		out[j.pod] = append(out[j.pod], j.usage)
	}
	return out, nil
}

// stats reads one container's CPU (millicores) and working set (bytes). Docker sends
// its previous sample (a second before) with the current one; Podman sends none, so
// kgit takes a second sample itself half a second later.
func (b *Backend) stats(ctx context.Context, name string) (cpuMilli, memory int64, err error) {
	s, err := b.sample(ctx, name)
	if err != nil {
		return 0, 0, err
	}
	if s.PreRead.IsZero() {
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		first := s
		if s, err = b.sample(ctx, name); err != nil {
			return 0, 0, err
		}
		s.PreRead, s.PreCPUStats = first.Read, first.CPUStats
	}
	cpu := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	if window := s.Read.Sub(s.PreRead); cpu > 0 && window > 0 {
		cpuMilli = int64(cpu * 1000 / float64(window)) // CPU time over wall time
	}
	mem := s.MemoryStats.Usage
	inactive, ok := s.MemoryStats.Stats["inactive_file"] // cgroup v2
	if !ok {
		inactive = s.MemoryStats.Stats["total_inactive_file"] // cgroup v1
	}
	if inactive < mem {
		mem -= inactive
	}
	return cpuMilli, int64(mem), nil
}

// sample is one reading of the engine's stats of a container, with the engine's
// previous one where it keeps one.
func (b *Backend) sample(ctx context.Context, name string) (container.StatsResponse, error) {
	var s container.StatsResponse
	res, err := b.cli.ContainerStats(ctx, name)
	if err != nil {
		return s, fmt.Errorf("docker: stats of %s: %w", name, err)
	}
	defer res.Close()
	if err := json.NewDecoder(res).Decode(&s); err != nil {
		return s, fmt.Errorf("docker: stats of %s: %w", name, err)
	}
	return s, nil
}
