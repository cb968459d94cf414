//go:build linux

package docker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker/engine"
	"kgit.dev/kgit/backend/proxy"
)

// hostReachesPods: on Linux the host reaches kgit's network (the engine runs on the host, or
// the bridge is the host's), so a host process serves each Service's address, and
// port-forward dials the pods' addresses.
const hostReachesPods = true

// proxies finds the running proxies of a Service on this engine by their command lines
// and their DOCKER_HOST.
func (b *Backend) proxies(ns, name string) []proxyProc {
	var out []proxyProc
	proxy.Processes(func(pid int, args []string) {
		if len(args) < 4 || args[1] != "__proxy" || args[2] != ProxyFlag {
			return
		}
		var s backend.Service
		if json.Unmarshal([]byte(args[3]), &s) == nil && s.Namespace == ns && s.Name == name && proxyHost(pid) == b.host {
			out = append(out, proxyProc{pid: pid, route: []byte(args[3])})
		}
	})
	return out
}

// proxyHost is the engine a proxy talks to: its DOCKER_HOST, or the default.
func proxyHost(pid int) string {
	environ, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	host := engine.DefaultHost
	for _, kv := range strings.Split(string(environ), "\x00") {
		if v, ok := strings.CutPrefix(kv, "DOCKER_HOST="); ok && v != "" {
			host = v // the last one wins, as in Go's os.Getenv
		}
	}
	return host
}

func stopProcess(p proxyProc) { proxy.Stop(p.pid) }
