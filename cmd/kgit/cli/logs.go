package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/kubernetes"
	"kgit.dev/kgit/manifest"
)

type logsFlags struct {
	container      string
	follow         bool
	tail           int
	previous       bool
	selector       string
	allContainers  bool
	prefix         bool
	maxLogRequests int
	since          time.Duration
	sinceTime      string
	timestamps     bool
}

func newLogsCmd(g *globals) *cobra.Command {
	f := &logsFlags{}
	cmd := &cobra.Command{
		Use:   "logs (POD | TYPE/NAME | -l SELECTOR)",
		Short: "Print a container's logs, or those of every pod a selector picks",
		Long: "Print a container's logs, as kubectl does. TYPE/NAME picks one pod of a Deployment,\n" +
			"StatefulSet, DaemonSet, ReplicaSet or Service; -l SELECTOR prints the logs of every pod it\n" +
			"selects (the last 10 lines of each unless --tail says otherwise), at once with -f.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || len(args) == 0 && f.selector == "" || len(args) == 1 && f.selector != "" {
				return invalid("logs: expected a pod, TYPE/NAME, or -l SELECTOR")
			}
			return nil
		},
		ValidArgsFunction: completePods(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.container, "container", "c", "", "container name (default: the kubectl.kubernetes.io/default-container annotation, else the first)")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep printing as the containers write")
	fl.IntVar(&f.tail, "tail", -1, "lines from the end to show (default: all; 10 with a selector)")
	fl.BoolVarP(&f.previous, "previous", "p", false, "the previous instance of the container, after a restart")
	fl.StringVarP(&f.selector, "selector", "l", "", "the pods whose labels match, e.g. app=web")
	fl.BoolVar(&f.allContainers, "all-containers", false, "every container of the pods")
	fl.BoolVar(&f.prefix, "prefix", false, "begin each line with [pod/NAME/CONTAINER]")
	fl.IntVar(&f.maxLogRequests, "max-log-requests", 5, "with -f and a selector, how many logs may be followed at once")
	fl.DurationVar(&f.since, "since", 0, "only lines newer than this, e.g. 5s, 2m, 3h (default: all)")
	fl.StringVar(&f.sinceTime, "since-time", "", "only lines written from this time on (RFC3339)")
	fl.BoolVar(&f.timestamps, "timestamps", false, "begin each line with the time it was written (RFC3339 with nanoseconds)")
	g.cluster.registerReadNamespace(cmd.Flags())
	return cmd
}

// logStream is one container's log that logs prints.
type logStream struct {
	pod       *backend.Pod
	container string
}

// options are the log options that the flags ask for, after the selector's tail.
func (f *logsFlags) options(tail int) (backend.LogOptions, error) {
	opts := backend.LogOptions{Follow: f.follow, Tail: tail, Previous: f.previous, Timestamps: f.timestamps}
	switch {
	case f.since != 0 && f.sinceTime != "":
		return opts, invalid("logs: at most one of --since and --since-time may be used")
	case f.since < 0:
		return opts, invalid("--since: %v must be positive", f.since)
	case f.since > 0:
		opts.Since = time.Now().Add(-f.since)
	case f.sinceTime != "":
		t, err := time.Parse(time.RFC3339, f.sinceTime)
		if err != nil {
			return opts, invalid("--since-time: %q is not an RFC3339 time (such as 2006-01-02T15:04:05Z)", f.sinceTime)
		}
		opts.Since = t
	}
	return opts, nil
}

func runLogs(cmd *cobra.Command, g *globals, f *logsFlags, args []string) error {
	ctx := cmd.Context()
	if _, err := f.options(f.tail); err != nil {
		return err
	}
	// pods are the pods whose logs are read (by --selector, or the one an argument
	// names), and read reads one container's log: from the local backend, or through a
	// cluster's API.
	var pods []view
	var read logReader
	tail := f.tail
	var err error
	if g.backendChoice() == KubernetesName {
		pods, read, err = clusterLogPods(ctx, g, f.selector, args)
	} else {
		pods, read, err = localLogPods(ctx, cmd, g, f.selector, args)
	}
	if err != nil {
		return err
	}
	if f.selector != "" {
		if len(pods) == 0 {
			fmt.Fprintln(g.stderr, "No resources found.")
			return nil
		}
		if !cmd.Flags().Changed("tail") {
			tail = 10
		}
	}
	var streams []logStream
	for _, v := range pods {
		if f.allContainers {
			for _, c := range v.pod.Spec.Containers {
				streams = append(streams, logStream{v.pod, c.Name})
			}
			continue
		}
		c, err := podContainer(v.pod, f.container, g.stderr)
		if err != nil {
			return err
		}
		streams = append(streams, logStream{v.pod, c})
	}
	if f.follow && len(streams) > f.maxLogRequests {
		return invalid("you are attempting to follow %d log streams, but maximum allowed concurrency is %d, use --max-log-requests to increase the limit", len(streams), f.maxLogRequests)
	}
	opts, _ := f.options(tail)
	var mu sync.Mutex
	write := func(s logStream, ctx context.Context) error {
		w := io.Writer(g.stdout)
		if f.prefix || len(streams) > 1 && f.follow {
			lw := &lineWriter{mu: &mu, w: g.stdout}
			if f.prefix {
				lw.prefix = fmt.Sprintf("[pod/%s/%s] ", s.pod.Name, s.container)
			}
			defer lw.flush()
			w = lw
		}
		return read(ctx, s.pod, s.container, opts, w)
	}
	if !f.follow {
		for _, s := range streams {
			if err := write(s, ctx); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(streams))
	for _, s := range streams {
		go func() { errs <- write(s, ctx) }()
	}
	var first error
	for range streams {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// lineWriter writes whole lines, each after its prefix, one writer at a time.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.mu.Lock()
		_, err := fmt.Fprintf(l.w, "%s%s", l.prefix, l.buf[:i+1])
		l.mu.Unlock()
		l.buf = l.buf[i+1:]
		if err != nil {
			return len(p), err
		}
	}
}

func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		_, _ = l.Write([]byte("\n"))
	}
}

// logReader writes one container's log of a pod.
type logReader func(ctx context.Context, p *backend.Pod, container string, opts backend.LogOptions, w io.Writer) error

// localLogPods are the pods of a local backend that logs reads: those --selector
// matches, or the first (best) of what the argument names.
func localLogPods(ctx context.Context, cmd *cobra.Command, g *globals, selector string, args []string) ([]view, logReader, error) {
	b, err := g.backend(ctx)
	if err != nil {
		return nil, nil, err
	}
	read := func(ctx context.Context, p *backend.Pod, container string, opts backend.LogOptions, w io.Writer) error {
		return b.Logs(ctx, p.ID, container, opts, w)
	}
	if selector != "" {
		sel, err := manifest.ParseSelector(selector)
		if err != nil {
			return nil, nil, invalid("--selector: %v", err)
		}
		_, all, err := appViews(ctx, cmd, g, b, "Pod")
		if err != nil {
			return nil, nil, err
		}
		var pods []view
		for _, v := range all {
			if ok, _ := sel.Matches(v.labels); ok {
				pods = append(pods, v)
			}
		}
		return pods, read, nil
	}
	pods, what, err := targetPods(ctx, cmd, g, b, args[0])
	if err != nil {
		return nil, nil, err
	}
	return onePod(g, pods, what == "pod/"+pods[0].name), read, nil
}

// clusterLogPods is localLogPods on a cluster: the pods of the namespace that
// --selector matches (the API server selects them), or what the argument names; their
// logs come through the API server (the node's kubelet serves them).
func clusterLogPods(ctx context.Context, g *globals, selector string, args []string) ([]view, logReader, error) {
	var t *kubernetes.Target
	var pods []view
	var err error
	if selector != "" {
		if _, err := manifest.ParseSelector(selector); err != nil {
			return nil, nil, invalid("--selector: %v", err)
		}
		if t, err = clusterTarget(ctx, g); err != nil {
			return nil, nil, err
		}
		objs, err := t.List(ctx, "pods", t.Namespace, selector, "")
		if err != nil {
			return nil, nil, err
		}
		for _, o := range objs {
			v := clusterView(o)
			if v.pod, err = kubernetes.PodOf(o); err != nil {
				return nil, nil, err
			}
			pods = append(pods, v)
		}
	} else {
		var owner view
		if t, pods, owner, err = clusterPods(ctx, g, args[0]); err != nil {
			return nil, nil, err
		}
		pods = onePod(g, pods, owner.pod != nil)
	}
	read := func(ctx context.Context, p *backend.Pod, container string, opts backend.LogOptions, w io.Writer) error {
		return t.Logs(ctx, p.Namespace, p.Name, container, opts, w)
	}
	return pods, read, nil
}

// onePod is kubectl's choice when an argument names an object with several pods: the
// first (best) one, said on stderr.
func onePod(g *globals, pods []view, namedPod bool) []view {
	if len(pods) > 1 || !namedPod {
		if len(pods) > 1 {
			fmt.Fprintf(g.stderr, "Found %d pods, using pod/%s\n", len(pods), pods[0].name)
		}
		pods = pods[:1]
	}
	return pods
}
