package main

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// client makes a new connection for every request, so that each one goes through a
// Service's choice of pod.
var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func get(url string) (string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return strings.TrimSpace(string(body)), err
}

// getSoon is get, retried for up to 5 s while it fails: a Service's proxy sees a pod's
// readiness a refresh or two after the sync that waited for it (on docker, a probe
// period, since the proxy probes the pods itself).
func getSoon(url string) (string, error) {
	body, err := get(url)
	for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		body, err = get(url)
	}
	return body, err
}

// fetch [-var NAME] URL: a GET (retried for up to 5 s while it fails); prints the body
// (or sets $NAME to it). ! fetch expects one request to fail at once.
func cmdFetch(ts *testscript.TestScript, neg bool, args []string) {
	varName := ""
	if len(args) > 2 && args[0] == "-var" {
		varName, args = args[1], args[2:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: fetch [-var NAME] URL")
	}
	var body string
	var err error
	if neg {
		body, err = get(args[0])
	} else {
		body, err = getSoon(args[0])
	}
	switch {
	case neg && err == nil:
		ts.Fatalf("GET %s succeeded: %q", args[0], body)
	case neg:
		return
	case err != nil:
		ts.Fatalf("GET %s: %v", args[0], err)
	}
	if varName != "" {
		ts.Setenv(varName, body)
		return
	}
	fmt.Fprintln(ts.Stdout(), body)
}

// hammer is a loop of GETs, one connection each, until it is stopped.
type hammer struct {
	stop, done chan struct{}
	ok         int
	bodies     map[string]int
	failed     []string
}

func startHammer(url string) *hammer {
	h := &hammer{stop: make(chan struct{}), done: make(chan struct{}), bodies: map[string]int{}}
	start := time.Now()
	go func() {
		defer close(h.done)
		for {
			select {
			case <-h.stop:
				return
			default:
			}
			if body, err := get(url); err != nil {
				h.failed = append(h.failed, fmt.Sprintf("%s: %v", time.Since(start).Round(time.Millisecond), err))
			} else {
				h.ok++
				h.bodies[body]++
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return h
}

// Stop ends the loop and waits for its last request.
func (h *hammer) Stop() {
	close(h.stop)
	<-h.done
}

// hammers are the request loops of running scripts, by script.
var hammers sync.Map // *testscript.TestScript -> *hammer

// hammer start URL | hammer stop: stop prints "requests=N failures=M", the bodies seen,
// and the first failures.
func cmdHammer(ts *testscript.TestScript, neg bool, args []string) {
	switch {
	case len(args) == 2 && args[0] == "start":
		hammers.Store(ts, startHammer(args[1]))
	case len(args) == 1 && args[0] == "stop":
		v, ok := hammers.LoadAndDelete(ts)
		if !ok {
			ts.Fatalf("no hammer running")
		}
		h := v.(*hammer)
		h.Stop()
		fmt.Fprintf(ts.Stdout(), "requests=%d failures=%d\n", h.ok+len(h.failed), len(h.failed))
		var bodies []string
		for b := range h.bodies {
			bodies = append(bodies, b)
		}
		sort.Strings(bodies)
		fmt.Fprintf(ts.Stdout(), "bodies=%s\n", strings.Join(bodies, ","))
		for i, f := range h.failed {
			if i == 5 {
				break
			}
			fmt.Fprintf(ts.Stdout(), "failure: %s\n", f)
		}
	default:
		ts.Fatalf("usage: hammer start URL | hammer stop")
	}
}
