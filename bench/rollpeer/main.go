//go:build linux

// Command rollpeer is the peer of kgit's rolling-update benchmark: the least a rolling
// update of the same pods can cost on this machine. It is one process that does only
// what the rollout needs: it starts each pod's container (the benchmark's shell, which
// sleeps 0.2 s, touches its ready file and execs sleep), runs each pod's readiness probe
// (`sh -c "test -f NAME.ready"`, at the container's start and then every period, as the
// kubelet and kgit do), and applies the Deployment controller's 25%/25% arithmetic the
// moment a probe result or an exit changes it. It keeps no files, starts no supervisor
// and polls nothing, so what kgit takes beyond it is kgit's.
//
// It starts n pods of version 1 and waits until all are ready (not timed), rolls them to
// version 2 (timed, until every new pod is ready and every old container has exited),
// checks that exactly n new containers run sleep, stops them, and prints the rollout's
// seconds.
//
//	go run ./bench/rollpeer -n 100 -dir /tmp/x
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type pod struct {
	name    string
	version int
	cmd     *exec.Cmd
	ready   bool
	dying   bool          // SIGTERM sent: no longer counts toward its version
	stop    chan struct{} // closed to stop the probe loop
	exited  bool
	started time.Time
}

type event struct {
	p      *pod
	ready  bool // a probe passed
	exited bool
}

type peer struct {
	dir    string
	period time.Duration
	events chan event
	pods   []*pod
	seq    int
}

func main() {
	n := flag.Int("n", 100, "replicas")
	dir := flag.String("dir", "", "the pods' working folder (their ready files go there)")
	period := flag.Duration("period", time.Second, "the readiness probe's period")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "rollpeer: -dir is required")
		os.Exit(2)
	}
	p := &peer{dir: *dir, period: *period, events: make(chan event, 4096)}
	defer p.stopAll()
	surge, unavailable := quarter(*n, true), quarter(*n, false)
	for range *n {
		p.start(1)
	}
	p.run(func() bool { return p.count(1, true) == *n }, func() {})
	start := time.Now()
	p.run(func() bool {
		return p.count(2, true) == *n && p.count(2, false) == *n && p.alive(1) == 0
	}, func() { p.deployment(*n, surge, unavailable) })
	took := time.Since(start)
	if running := p.runningSleep(2); running != *n {
		p.stopAll()
		fmt.Fprintf(os.Stderr, "rollpeer: %d of %d new containers run sleep\n", running, *n)
		os.Exit(1)
	}
	fmt.Printf("%.3f\n", took.Seconds())
}

// quarter is 25% of n, rounded up for maxSurge and down for maxUnavailable, as
// Kubernetes rounds them.
func quarter(n int, up bool) int {
	if up {
		return (n + 3) / 4
	}
	return n / 4
}

// run handles events until done, calling act after each batch of them.
func (p *peer) run(done func() bool, act func()) {
	act()
	for !done() {
		p.handle(<-p.events)
		for more := true; more; {
			select {
			case e := <-p.events:
				p.handle(e)
			default:
				more = false
			}
		}
		act()
	}
}

func (p *peer) handle(e event) {
	switch {
	case e.exited:
		e.p.exited = true
	case e.ready && !e.p.dying:
		e.p.ready = true
	}
}

// deployment is one pass of the Deployment controller's rolling update: scale the new
// version up within maxSurge, then the old one down within maxUnavailable
// (NewRSNewReplicas and reconcileOldReplicaSets in Kubernetes' deployment controller).
func (p *peer) deployment(n, surge, unavailable int) {
	total := p.count(1, false) + p.count(2, false)
	if up := min(n+surge-total, n-p.count(2, false)); up > 0 {
		for range up {
			p.start(2)
		}
		total += up
	}
	newUnavailable := p.count(2, false) - p.count(2, true)
	down := min(total-(n-unavailable)-newUnavailable, p.count(1, false))
	for _, q := range p.pods {
		if down <= 0 {
			break
		}
		if q.version == 1 && !q.dying {
			p.kill(q)
			down--
		}
	}
}

// count is the pods of a version that count toward it (not being stopped), ready ones
// only when ready.
func (p *peer) count(version int, ready bool) int {
	n := 0
	for _, q := range p.pods {
		if q.version == version && !q.dying && (!ready || q.ready) {
			n++
		}
	}
	return n
}

func (p *peer) alive(version int) int {
	n := 0
	for _, q := range p.pods {
		if q.version == version && !q.exited {
			n++
		}
	}
	return n
}

func (p *peer) start(version int) {
	p.seq++
	q := &pod{name: fmt.Sprintf("peer-v%d-%d", version, p.seq), version: version, stop: make(chan struct{})}
	q.cmd = exec.Command("sh", "-c", fmt.Sprintf("sleep 0.2; touch %s.ready; exec sleep 3600", q.name))
	q.cmd.Dir = p.dir
	q.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := q.cmd.Start(); err != nil {
		p.stopAll()
		fmt.Fprintln(os.Stderr, "rollpeer:", err)
		os.Exit(1)
	}
	q.started = time.Now()
	p.pods = append(p.pods, q)
	go func() {
		_ = q.cmd.Wait()
		p.events <- event{p: q, exited: true}
	}()
	go p.probe(q)
}

// probe runs the pod's readiness probe at once and then every period, until stopped.
func (p *peer) probe(q *pod) {
	tick := time.NewTicker(p.period)
	defer tick.Stop()
	reported := false
	for {
		probe := exec.Command("sh", "-c", "test -f "+q.name+".ready")
		probe.Dir = p.dir
		if probe.Run() == nil && !reported {
			p.events <- event{p: q, ready: true}
			reported = true
		}
		select {
		case <-q.stop:
			return
		case <-tick.C:
		}
	}
}

func (p *peer) kill(q *pod) {
	q.dying, q.ready = true, false
	close(q.stop)
	_ = syscall.Kill(-q.cmd.Process.Pid, syscall.SIGTERM)
}

// runningSleep counts the version's containers whose process is sleep (past the
// shell's exec): the work the rollout was to leave running.
func (p *peer) runningSleep(version int) int {
	n := 0
	for _, q := range p.pods {
		if q.version != version || q.exited {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(q.cmd.Process.Pid), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "sleep" {
			n++
		}
	}
	return n
}

// stopAll stops every pod still running and waits for their exits, and removes the
// ready files.
func (p *peer) stopAll() {
	for _, q := range p.pods {
		if !q.dying {
			p.kill(q)
		}
	}
	deadline := time.After(10 * time.Second)
	for p.alive(1)+p.alive(2) > 0 {
		select {
		case e := <-p.events:
			p.handle(e)
		case <-deadline:
			fmt.Fprintln(os.Stderr, "rollpeer: containers still running after 10 s")
			return
		}
	}
	for _, q := range p.pods {
		_ = os.Remove(filepath.Join(p.dir, q.name+".ready"))
	}
}
