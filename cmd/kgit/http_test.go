package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// client makes a new connection for every request, so that each one goes through a
// Service's choice of pod.
var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// target is where a request goes: a URL, and for an ingress the host it names (the
// Host header, and the server name of a TLS handshake, verified against cacert).
type target struct {
	url, host, cacert string
}

// parseTarget reads [-host HOST] [-cacert FILE] URL from args.
func parseTarget(ts *testscript.TestScript, args []string) (target, []string) {
	var t target
	for len(args) > 1 && (args[0] == "-host" || args[0] == "-cacert") {
		if args[0] == "-host" {
			t.host = args[1]
		} else {
			t.cacert = ts.MkAbs(args[1])
		}
		args = args[2:]
	}
	if len(args) == 0 {
		ts.Fatalf("no URL")
	}
	t.url = args[0]
	return t, args[1:]
}

func get(url string) (string, error) { return getTarget(target{url: url}) }

func getTarget(t target) (string, error) {
	req, err := http.NewRequest(http.MethodGet, t.url, nil)
	if err != nil {
		return "", err
	}
	client := httpClient
	if t.host != "" {
		req.Host = t.host
	}
	if t.cacert != "" {
		pem, err := os.ReadFile(t.cacert)
		if err != nil {
			return "", err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: t.host}}}
	}
	resp, err := client.Do(req)
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

// getSoon is get, retried for up to 15 s while it fails: a Service's proxy sees a pod's
// readiness a refresh or two after the sync that waited for it (on docker, a probe
// period, since the proxy probes the pods itself), later on a loaded CI machine.
func getSoon(url string) (string, error) { return getTargetSoon(target{url: url}) }

func getTargetSoon(t target) (string, error) {
	body, err := getTarget(t)
	for deadline := time.Now().Add(15 * time.Second); err != nil && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		body, err = getTarget(t)
	}
	return body, err
}

// fetch [-var NAME] [-host HOST] [-cacert FILE] URL: a GET (retried for up to 15 s while
// it fails), with HOST as its Host header (and TLS server name, the certificate
// verified against FILE); prints the body (or sets $NAME to it). ! fetch expects one
// request to fail at once.
func cmdFetch(ts *testscript.TestScript, neg bool, args []string) {
	varName := ""
	if len(args) > 2 && args[0] == "-var" {
		varName, args = args[1], args[2:]
	}
	t, rest := parseTarget(ts, args)
	if len(rest) != 0 {
		ts.Fatalf("usage: fetch [-var NAME] [-host HOST] [-cacert FILE] URL")
	}
	var body string
	var err error
	if neg {
		body, err = getTarget(t)
	} else {
		body, err = getTargetSoon(t)
	}
	switch {
	case neg && err == nil:
		ts.Fatalf("GET %s succeeded: %q", t.url, body)
	case neg:
		return
	case err != nil:
		ts.Fatalf("GET %s: %v", t.url, err)
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

// startHammer requests each target in turn.
func startHammer(targets []target) *hammer {
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
			t := targets[(h.ok+len(h.failed))%len(targets)]
			if body, err := getTarget(t); err != nil {
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

// hammer start [-host HOST] URL... | hammer stop: start requests each URL (with its
// host) in turn; stop prints "requests=N failures=M", the bodies seen,
// and the first failures.
func cmdHammer(ts *testscript.TestScript, neg bool, args []string) {
	switch {
	case len(args) >= 2 && args[0] == "start":
		var targets []target
		for rest := args[1:]; len(rest) > 0; {
			var t target
			t, rest = parseTarget(ts, rest)
			targets = append(targets, t)
		}
		hammers.Store(ts, startHammer(targets))
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
		ts.Fatalf("usage: hammer start [-host HOST] URL... | hammer stop")
	}
}
