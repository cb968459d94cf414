//go:build !linux

package docker

// hostReachesPods: elsewhere the engine runs in a virtual machine (Docker Desktop, Podman
// machine) whose networks the host does not reach: Services are kept as records, not
// routed, and the backend does not forward ports (kubectl port-forward's way through the
// engine is not built yet).
const hostReachesPods = false

func (b *Backend) proxies(ns, name string) []proxyProc { return nil }

func stopProcess(p proxyProc) {}
