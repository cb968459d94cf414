// Package ingress is kgit's ingress controller for the local backends: one host process
// per backend (`kgit __ingress DIR`), in a session of its own like a Service's proxy, so
// that it keeps serving after the CLI exits. It routes HTTP (and HTTPS, by SNI) by host
// and path to the Services the Ingresses name, through each Service's own proxy, which
// already follows the Service's ready endpoints (and drops a pod before it stops): the
// controller itself watches nothing, and costs nothing while no request comes.
//
// Each sync of an app writes the app's part of the configuration (DIR/apps/APP.json:
// its Ingresses, resolved to Service addresses, its IngressClasses and TLS
// certificates) and tells the controller to reload (SIGHUP); the controller serves the
// union of every app's part, and is stopped when no Ingress is left.
package ingress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"kgit.dev/kgit/manifest"
)

// The addresses the controller listens on, by default and as the environment sets them.
// Loopback only, as node ports are, and unprivileged ports, so no root is needed; not
// 8080, which `kgit ui` takes by default.
const (
	DefaultHTTPAddr  = "127.0.0.1:8088"
	DefaultHTTPSAddr = "127.0.0.1:8443"
	HTTPAddrEnv      = "KGIT_INGRESS_ADDR"
	HTTPSAddrEnv     = "KGIT_INGRESS_TLS_ADDR"
)

// Listen is where the controller listens.
type Listen struct {
	HTTP  string `json:"http"`
	HTTPS string `json:"https"`
}

// ListenFromEnv is the addresses $KGIT_INGRESS_ADDR and $KGIT_INGRESS_TLS_ADDR name, or
// the defaults; an address that does not parse is an error naming the variable.
func ListenFromEnv() (Listen, error) {
	l := Listen{HTTP: DefaultHTTPAddr, HTTPS: DefaultHTTPSAddr}
	for env, addr := range map[string]*string{HTTPAddrEnv: &l.HTTP, HTTPSAddrEnv: &l.HTTPS} {
		if v := os.Getenv(env); v != "" {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return l, fmt.Errorf("$%s: %w", env, err)
			}
			*addr = v
		}
	}
	return l, nil
}

// App is one app's part of the configuration.
type App struct {
	Ingresses []Ingress `json:"ingresses,omitempty"`
	Classes   []Class   `json:"classes,omitempty"`
}

// Ingress is one Ingress, its backends resolved to the addresses that serve them.
type Ingress struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Class     string    `json:"class,omitempty"` // spec.ingressClassName (or the old annotation); "": none
	Created   time.Time `json:"created"`
	Rules     []Rule    `json:"rules,omitempty"`
	Default   *Backend  `json:"defaultBackend,omitempty"`
	TLS       []TLS     `json:"tls,omitempty"`
}

// Rule is one path of one host.
type Rule struct {
	Host     string  `json:"host,omitempty"` // "": every host; "*.example.com": one label
	Path     string  `json:"path"`
	PathType string  `json:"pathType"` // Exact or Prefix (ImplementationSpecific is Prefix)
	Backend  Backend `json:"backend"`
}

// Backend is a Service's port: Addr is where its proxy answers (the Service's address
// and port), "" with Err saying why nothing can serve it.
type Backend struct {
	Service string `json:"service"` // NAME:PORT, for messages
	Addr    string `json:"addr,omitempty"`
	Err     string `json:"error,omitempty"`
}

// TLS is a certificate and key (PEM) from a kubernetes.io/tls Secret, and the hosts it
// serves.
type TLS struct {
	Hosts []string `json:"hosts,omitempty"`
	Cert  string   `json:"cert"`
	Key   string   `json:"key"`
}

// Class is an IngressClass: kgit's when its controller is IngressClassController.
type Class struct {
	Name       string `json:"name"`
	Controller string `json:"controller"`
	Default    bool   `json:"default,omitempty"`
}

// Status is what the controller says of itself: where it listens and which Ingresses
// (NAMESPACE/NAME of APP) it serves.
type Status struct {
	PID    int      `json:"pid"`
	Listen Listen   `json:"listen"` // "" for an address it could not listen on
	Served []string `json:"served,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// ServedKey names an Ingress in Status.Served.
func ServedKey(app, namespace, name string) string { return app + "/" + namespace + "/" + name }

// The controller's folder:
//
//	DIR/apps/APP.json  each app's part (0600: it holds TLS keys)
//	DIR/listen.json    where to listen
//	DIR/status.json    what the controller serves (Status)
//	DIR/controller.log what it says
func appsDir(dir string) string { return filepath.Join(dir, "apps") }

// ReadStatus reads the controller's status; nil when it is not running.
func ReadStatus(dir string) *Status {
	var s Status
	data, err := os.ReadFile(filepath.Join(dir, "status.json"))
	if err != nil || json.Unmarshal(data, &s) != nil || !running(dir, s.PID) {
		return nil
	}
	return &s
}

// writeFile writes data atomically, readable by its owner only; changed says whether
// it differed from what was there.
func writeFile(path string, data []byte) (changed bool, err error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

// appFile is the file of an app's part; app names are DNS labels, so they make file
// names as they are.
func appFile(dir, app string) string { return filepath.Join(appsDir(dir), app+".json") }

// HasApp reports whether the controller's configuration holds a part of app.
func HasApp(dir, app string) bool {
	_, err := os.Stat(appFile(dir, app))
	return err == nil
}

// loadApps reads every app's part, by app.
func loadApps(dir string) (map[string]*App, error) {
	entries, err := os.ReadDir(appsDir(dir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	apps := map[string]*App{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(appsDir(dir), e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var a App
		if err != nil || json.Unmarshal(data, &a) != nil {
			return nil, fmt.Errorf("ingress: read %s: %v", e.Name(), err)
		}
		apps[name] = &a
	}
	return apps, nil
}

// served is an Ingress the controller serves, with its app.
type served struct {
	App string
	*Ingress
}

// Served picks, from every app's part, the Ingresses kgit's controller serves: those of
// kgit's class (IngressClassKgit, or an IngressClass whose controller is kgit's) and
// those of no class, unless an IngressClass of another controller is marked default (it
// would own them, as admission gives them the default class). Sorted by age, then name,
// which is the order rules of the same host and path take precedence in.
func Served(apps map[string]*App) []served {
	mine := map[string]bool{manifest.IngressClassKgit: true}
	defaultMine := true
	for _, a := range apps {
		for _, c := range a.Classes {
			isMine := c.Controller == manifest.IngressClassController
			if isMine {
				mine[c.Name] = true
			}
			if c.Default {
				defaultMine = defaultMine && isMine
			}
		}
	}
	var out []served
	for app, a := range apps {
		for i := range a.Ingresses {
			in := &a.Ingresses[i]
			if in.Class == "" && defaultMine || in.Class != "" && mine[in.Class] {
				out = append(out, served{App: app, Ingress: in})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return ServedKey(out[i].App, out[i].Namespace, out[i].Name) < ServedKey(out[j].App, out[j].Namespace, out[j].Name)
	})
	return out
}
