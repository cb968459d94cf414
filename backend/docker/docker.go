// Package docker runs kgit's pods on a Docker Engine (or Podman's Docker-compatible
// socket) through the Engine API.
//
// A pod is one container per pod container: the first joins kgit's network with the
// pod's own address, the others share its network namespace. Everything kgit needs to
// rebuild its view is in container labels (the pod spec included), so a fresh kgit on
// another machine sees the same truth. Controller records are volumes whose labels hold
// the object; the per-app lock is a volume whose first creator wins.
package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/backend/docker/engine"
	"kgit.dev/kgit/backend/probe"
	"kgit.dev/kgit/manifest"
)

// Name is the backend's name.
const Name = "docker"

// Labels kept on containers, beside the pod's own.
const (
	labelPod       = "kgit.dev/pod"
	labelContainer = "kgit.dev/container"
	labelIndex     = "kgit.dev/container-index"
	labelPodSpec   = "kgit.dev/pod-spec"
	labelPodUID    = "kgit.dev/pod-uid"
	labelPodIP     = "kgit.dev/pod-ip"
	labelCreated   = "kgit.dev/pod-created"
)

// NetworkName is the bridge network kgit's pods join, and DefaultSubnet its addresses
// (KGIT_DOCKER_SUBNET overrides it); each pod gets a fixed address in it as POD_IP.
// Podman's is PodmanSubnet: Podman refuses a subnet the host already routes, so the
// two engines on one machine each need their own.
const (
	NetworkName   = "kgit"
	DefaultSubnet = "10.213.0.0/16"
	PodmanSubnet  = "10.214.0.0/16"
)

// Backend runs pods as Docker containers.
type Backend struct {
	cli        *engine.Client
	name       string // Name, or PodmanName
	host       string
	log        io.Writer // image pulls and warnings report here
	mu         sync.Mutex
	probes     map[string]*probeState // by container ID: the probe results kgit has seen
	netMu      sync.Mutex             // one network creation at a time
	ipMu       sync.Mutex
	taken      map[string]bool // addresses handed out to pods still being created
	used       map[string]bool // addresses in the engine's containers, as last listed
	usedAt     time.Time
	images     sync.Map // "policy image" -> when it was settled (present, or pulled)
	imageLocks sync.Map // "policy image" -> *sync.Mutex: one check per image at a time
	engineMu   sync.Mutex
	engine     string          // "Docker" or "Podman", once asked
	lastExits  map[string]int  // Podman: "ID START" -> the exit code before that restart
	tend       tending         // the apps' tenders (tender.go)
	tls        probe.Handshake // secures HTTPS probes and hooks (nil: they fail, saying why)
	inspected  inspections     // the containers' last inspections (inspect.go)
}

// New connects to the engine named by DOCKER_HOST and the usual Docker environment.
// Pull progress goes to log.
func New(log io.Writer) (*Backend, error) {
	cli, err := engine.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	return &Backend{cli: cli, name: Name, host: cli.Host(), log: log, probes: map[string]*probeState{}}, nil
}

// Name implements backend.Backend.
func (b *Backend) Name() string { return b.name }

// Host is the engine's address (DOCKER_HOST's form): kgit's host processes that talk to
// the engine after kgit has exited (proxies, CronJobs' schedulers) are given it.
func (b *Backend) Host() string { return b.host }

// Available pings the engine and negotiates the API version.
func (b *Backend) Available(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.cli.Ping(ctx); err != nil {
		return fmt.Errorf("%s: cannot reach the engine at %s: %w", b.name, b.host, err)
	}
	return nil
}

// Capabilities implements backend.Backend: containers are apart from the host unless
// a manifest asks for host access and the user allowed it; Services are routed by proxy
// containers; kgit restarts what the engine leaves stopped (Tend).
func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{Isolated: true, Routes: hostReachesPods, Tends: true, Execs: true, Forwards: hostReachesPods, Meters: true, Unhonoured: unhonoured()}
}

// unhonoured lists the pod fields the docker backend accepts but ignores.
func unhonoured() []string {
	out := append(append(manifest.UnhonouredVolumeFields(), manifest.UnhonouredLifecycleFields()...),
		"nodeSelector", "tolerations", "affinity", "nodeName",
		"dnsPolicy", "dnsConfig", "hostAliases",
		"priorityClassName", "runtimeClassName", "topologySpreadConstraints")
	for _, f := range unhonouredSecurity {
		out = append(out, "securityContext."+f, "containers[].securityContext."+f, "initContainers[].securityContext."+f)
	}
	for _, list := range []string{"containers[]", "initContainers[]"} {
		out = append(out, list+".resources.claims", list+".resources.limits.ephemeral-storage", list+".resources.requests.ephemeral-storage")
	}
	return append(out, "securityContext.fsGroupChangePolicy", "securityContext.sysctls")
}

// unhonouredSecurity are the securityContext fields (of a pod or a container) that
// Docker's settings do not cover.
var unhonouredSecurity = []string{"seLinuxOptions", "seccompProfile", "appArmorProfile", "windowsOptions",
	"procMount", "supplementalGroupsPolicy", "seLinuxChangePolicy"}

func containerName(ns, pod, c string) string { return "kgit-" + ns + "-" + pod + "-" + c }

// CreatePod makes sure the images are there (per imagePullPolicy), then creates and
// starts one container per pod container.
func (b *Backend) CreatePod(ctx context.Context, spec backend.PodSpec) (*backend.Pod, error) {
	defer b.ensureTender(&spec)
	p, err := b.createPod(ctx, spec)
	if err != nil && (strings.Contains(err.Error(), "Address already in use") || strings.Contains(err.Error(), "already allocated")) {
		// Another kgit gave the address to its pod since the addresses were listed
		// (Docker: "Address already in use"; Podman: "... is already allocated").
		b.ipMu.Lock()
		b.usedAt = time.Time{}
		b.ipMu.Unlock()
		p, err = b.createPod(ctx, spec)
	}
	return p, err
}

func (b *Backend) createPod(ctx context.Context, spec backend.PodSpec) (*backend.Pod, error) {
	all := append(append([]manifest.Container(nil), spec.Spec.InitContainers...), spec.Spec.Containers...)
	nInit := len(spec.Spec.InitContainers)
	imageUsers := make([]string, len(all))
	for i := range all {
		if err := b.ensureImage(ctx, &all[i], spec.PullSecrets); err != nil {
			return nil, fmt.Errorf("pod %s: %w", spec.Name, err)
		}
		if sc := manifest.SecurityOf(&spec.Spec, &all[i]); sc.RunAsNonRoot || sc.RunAsGroup != nil && sc.RunAsUser == nil {
			imageUsers[i] = b.imageUser(ctx, all[i].Image)
		}
		if err := checkNonRoot(spec, &all[i], imageUsers[i]); err != nil {
			return nil, fmt.Errorf("pod %s: %w", spec.Name, err)
		}
	}
	// The pod's network is held by its first sidecar, else its first app container; the
	// regular init containers before it run one at a time with the pod's address.
	holder := nInit
	for i := range nInit {
		if backend.IsSidecar(&all[i]) {
			holder = i
			break
		}
	}
	var netID string
	ip := netip.MustParseAddr("127.0.0.1") // a hostNetwork pod has the host's address
	if !spec.Spec.HostNetwork {
		var subnet netip.Prefix
		var err error
		if netID, subnet, err = b.network(ctx); err != nil {
			return nil, err
		}
		if ip, err = b.allocateIP(ctx, spec.Namespace+"/"+spec.Name, subnet); err != nil {
			return nil, err
		}
		defer b.release(ip)
	}
	uid := newUID()
	specJSON, err := json.Marshal(spec.Hidden()) // values from Secrets stay out of labels
	if err != nil {
		return nil, err
	}
	created := time.Now().UTC()
	fields := manifest.PodFields{Name: spec.Name, Namespace: spec.Namespace, UID: uid, PodIP: ip.String(),
		HostIP: "127.0.0.1", NodeName: "localhost", ServiceAccount: spec.Spec.ServiceAccountName,
		Labels: spec.Labels, Annotations: spec.Annotations, Services: spec.ServiceEnv}
	var first string
	for i := range all {
		c := &all[i]
		cfg, host, err := b.containerConfig(spec, c, fields, imageUsers[i])
		if i < nInit {
			host.RestartPolicy = restartPolicy(backend.InitRestartPolicy(spec.Spec.RestartPolicy, c))
		}
		var copies []copyIn
		if err == nil {
			var binds []string
			binds, host.Mounts, copies, err = b.volumes(spec, uid, c)
			host.Binds = append(host.Binds, binds...)
		}
		if err == nil {
			err = b.createVolumes(ctx, host.Mounts)
		}
		if err != nil {
			_ = b.removePodUID(ctx, spec.Namespace, spec.Name, uid, 0)
			return nil, err
		}
		cfg.Labels[labelPodSpec] = string(specJSON)
		cfg.Labels[labelPodUID] = uid
		cfg.Labels[labelPodIP] = ip.String()
		cfg.Labels[labelCreated] = created.Format(time.RFC3339Nano)
		cfg.Labels[labelIndex] = fmt.Sprintf("%03d", i)
		var netcfg *network.NetworkingConfig
		switch {
		case spec.Spec.HostNetwork:
			host.NetworkMode = "host"
		case first == "" && i <= holder:
			if h := spec.Spec.Hostname; len(h) <= 63 {
				cfg.Hostname = h // a StatefulSet's pod is its own name
			}
			host.ExtraHosts = extraHosts(spec.Hosts) // the containers joining it share its hosts file
			netcfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
				NetworkName: {NetworkID: netID, IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: ip}}}}
			host.NetworkMode = container.NetworkMode(NetworkName)
		default:
			host.NetworkMode = container.NetworkMode("container:" + first)
		}
		req := container.CreateRequest{Config: cfg, HostConfig: host, NetworkingConfig: netcfg}
		res, err := b.cli.ContainerCreate(ctx, containerName(spec.Namespace, spec.Name, c.Name), req)
		if err != nil && netcfg != nil && networkGone(err) {
			// kgit's network was removed meanwhile (docker network prune): make it again.
			if netID, _, err = b.network(ctx); err == nil {
				netcfg.EndpointsConfig[NetworkName].NetworkID = netID
				res, err = b.cli.ContainerCreate(ctx, containerName(spec.Namespace, spec.Name, c.Name), req)
			}
		}
		if err != nil {
			_ = b.removePodUID(ctx, spec.Namespace, spec.Name, uid, 0)
			if noSuch(err) {
				b.forgetImages(&spec.Spec)
			}
			if nameTaken(err) {
				return nil, fmt.Errorf("pod %s/%s: %w", spec.Namespace, spec.Name, backend.ErrAlreadyExists)
			}
			return nil, fmt.Errorf("docker: create container %s of pod %s: %w", c.Name, spec.Name, err)
		}
		for _, cp := range copies {
			if err := b.copyFiles(ctx, res.ID, cp); err != nil {
				_ = b.removePodUID(ctx, spec.Namespace, spec.Name, uid, 0)
				return nil, fmt.Errorf("docker: copy volume files to %s in container %s of pod %s: %w", cp.target, c.Name, spec.Name, err)
			}
		}
		// With init containers, only the first starts now; Tend starts each of the others
		// in its turn, as the kubelet does.
		if nInit == 0 || i == 0 {
			if err := b.cli.ContainerStart(ctx, res.ID); err != nil {
				_ = b.removePodUID(ctx, spec.Namespace, spec.Name, uid, 0)
				return nil, fmt.Errorf("docker: start container %s of pod %s: %w", c.Name, spec.Name, err)
			}
		}
		if i == holder {
			first = res.ID
		}
	}
	// The pod as created; its status is the engine's to report (ListPods).
	return &backend.Pod{ID: spec.Namespace + "_" + spec.Name + "_" + uid, PodSpec: spec.Hidden(), UID: uid, Created: created,
		Status: backend.PodStatus{Phase: backend.PodPending, PodIP: ip.String()}}, nil
}

// containerList lists containers. Podman fails a listing that meets a container whose
// process has just exited ("read /proc/PID/cgroup: no such process"): it is asked again.
func (b *Backend) containerList(ctx context.Context, f engine.Filters) ([]container.Summary, error) {
	for i := 1; ; i++ {
		res, err := b.cli.ContainerList(ctx, true, f)
		if err == nil || i == 5 || !strings.Contains(err.Error(), "/proc/") {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(time.Duration(i) * 50 * time.Millisecond):
		}
	}
}

// nameTaken reports an engine error about a container name already in use (Docker says
// "Conflict", Podman "already in use").
func nameTaken(err error) bool {
	return strings.Contains(err.Error(), "Conflict") || strings.Contains(err.Error(), "already in use")
}

// noSuch reports an engine error about an object that does not exist (Docker: "No such
// container", Podman: "no such container").
func noSuch(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "no such")
}

// networkGone reports an engine error about a network that does not exist.
func networkGone(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "network") && (strings.Contains(msg, "not found") || strings.Contains(msg, "no such"))
}

// containerConfig maps a pod container onto Docker's: command/args override
// entrypoint/cmd, the Kubernetes environment with $(VAR) expansion, the working dir,
// the ports (hostPort published; probed ports published on 127.0.0.1), the restart
// policy, the grace period as the stop timeout, resources and securityContext.
func (b *Backend) containerConfig(spec backend.PodSpec, c *manifest.Container, fields manifest.PodFields, imageUser string) (*container.Config, *container.HostConfig, error) {
	order, vals, err := manifest.ContainerEnv(c, fields, spec.Resolved[c.Name])
	if err != nil {
		return nil, nil, err
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vals[k])
	}
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[labelPod], labels[labelContainer] = spec.Name, c.Name
	labels[backend.LabelManagedBy], labels[backend.LabelNamespace] = backend.ManagedBy, spec.Namespace
	grace := int(*spec.Spec.TerminationGracePeriodSeconds)
	cfg := &container.Config{Image: c.Image, Env: env, WorkingDir: c.WorkingDir, Labels: labels, StopTimeout: &grace,
		ExposedPorts: network.PortSet{}}
	if len(c.Command) > 0 {
		cfg.Entrypoint = manifest.ExpandAll(c.Command, vals)
		cfg.Cmd = manifest.ExpandAll(c.Args, vals)
		if cfg.Cmd == nil {
			cfg.Cmd = []string{} // command without args: the image's CMD is dropped, as in Kubernetes
		}
	} else if len(c.Args) > 0 {
		cfg.Cmd = manifest.ExpandAll(c.Args, vals)
	}
	host := &container.HostConfig{RestartPolicy: restartPolicy(spec.Spec.RestartPolicy), PortBindings: network.PortMap{}}
	hostAccess(&spec.Spec, c, host)
	resources(c, host)
	security(&spec.Spec, c, imageUser, cfg, host)
	loopback := netip.MustParseAddr("127.0.0.1")
	publish := func(port int, proto string, hostIP netip.Addr, hostPort string) error {
		p, err := network.ParsePort(fmt.Sprintf("%d/%s", port, strings.ToLower(proto)))
		if err != nil {
			return err
		}
		cfg.ExposedPorts[p] = struct{}{}
		host.PortBindings[p] = append(host.PortBindings[p], network.PortBinding{HostIP: hostIP, HostPort: hostPort})
		return nil
	}
	for _, p := range c.Ports {
		if p.HostPort > 0 {
			hostIP := netip.IPv4Unspecified()
			if p.HostIP != "" {
				hostIP, _ = netip.ParseAddr(p.HostIP)
			}
			if err := publish(int(p.ContainerPort), p.Protocol, hostIP, strconv.Itoa(int(p.HostPort))); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, port := range probedPorts(c) {
		if err := publish(port, "TCP", loopback, ""); err != nil {
			return nil, nil, err
		}
	}
	return cfg, host, nil
}

// hostAccess grants what the manifest asks of the host. kgit's CLI refuses such a
// manifest on this backend unless the user passed --allow-host-access.
func hostAccess(spec *manifest.PodSpec, c *manifest.Container, host *container.HostConfig) {
	if spec.HostPID {
		host.PidMode = "host"
	}
	if spec.HostIPC {
		host.IpcMode = container.IPCModeHost
	}
	sc := manifest.ContainerSecurity(c)
	host.Privileged, host.CapAdd = sc.Privileged, sc.Add
}

func restartPolicy(p string) container.RestartPolicy {
	switch p {
	case "OnFailure":
		return container.RestartPolicy{Name: container.RestartPolicyOnFailure}
	case "Never":
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}
	}
	return container.RestartPolicy{Name: container.RestartPolicyAlways}
}

// network returns kgit's network, creating it with its subnet on first use.
func (b *Backend) network(ctx context.Context) (string, netip.Prefix, error) {
	b.netMu.Lock()
	defer b.netMu.Unlock()
	res, err := b.cli.NetworkInspect(ctx, NetworkName)
	if err != nil {
		subnet := os.Getenv("KGIT_DOCKER_SUBNET")
		if subnet == "" {
			subnet = DefaultSubnet
			if b.Podman(ctx) {
				subnet = PodmanSubnet
			}
		}
		prefix, perr := netip.ParsePrefix(subnet)
		if perr != nil {
			return "", netip.Prefix{}, fmt.Errorf("docker: KGIT_DOCKER_SUBNET %q: %w", subnet, perr)
		}
		cerr := b.cli.NetworkCreate(ctx, network.CreateRequest{Name: NetworkName, Driver: "bridge",
			Labels: map[string]string{backend.LabelManagedBy: backend.ManagedBy},
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: prefix}}}})
		// Another kgit (or another goroutine) may have created it meanwhile: look again.
		if res, err = b.cli.NetworkInspect(ctx, NetworkName); err != nil {
			if cerr == nil {
				cerr = err
			}
			return "", netip.Prefix{}, fmt.Errorf("docker: create network %s (subnet %s; set KGIT_DOCKER_SUBNET for another): %w", NetworkName, prefix, cerr)
		}
	}
	n := res.Network
	if len(n.IPAM.Config) == 0 || !n.IPAM.Config[0].Subnet.IsValid() {
		return "", netip.Prefix{}, fmt.Errorf("docker: network %s has no subnet of its own; remove it and let kgit create it", NetworkName)
	}
	return n.ID, n.IPAM.Config[0].Subnet, nil
}

// allocateIP picks a free address in the subnet, starting from a hash of the pod's name:
// free means in no container's labels and not handed to a pod this kgit is creating.
func (b *Backend) allocateIP(ctx context.Context, key string, subnet netip.Prefix) (netip.Addr, error) {
	b.ipMu.Lock()
	defer b.ipMu.Unlock()
	if b.taken == nil {
		b.taken = map[string]bool{}
	}
	// The engine's view of the addresses in use is read at most once a second: a burst
	// of creations shares it (b.taken covers this process's own), and an address another
	// kgit took meanwhile makes the engine refuse the create, which is retried.
	if time.Since(b.usedAt) > time.Second {
		res, err := b.containerList(ctx, make(engine.Filters).Add("label", backend.LabelManagedBy+"="+backend.ManagedBy))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("docker: list containers: %w", err)
		}
		b.used = map[string]bool{}
		for _, c := range res {
			b.used[c.Labels[labelPodIP]] = true
		}
		b.usedAt = time.Now()
	}
	used := b.used
	base := subnet.Masked().Addr().As4()
	size := uint32(1) << (32 - subnet.Bits())
	h := fnv32(key)
	for i := uint32(0); i < size; i++ {
		off := (h + i) % size
		if off < 2 || off == size-1 || inServiceRange(off, size) { // network, gateway, broadcast, Services
			continue
		}
		n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
		n += off
		ip := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		if !used[ip.String()] && !b.taken[ip.String()] {
			b.taken[ip.String()] = true
			return ip, nil
		}
	}
	return netip.Addr{}, errors.New("docker: no free address in kgit's network")
}

// release forgets an address handed out to a pod being created: from then on the
// pod's container labels hold it, or the pod was not created.
func (b *Backend) release(ip netip.Addr) {
	b.ipMu.Lock()
	delete(b.taken, ip.String())
	b.ipMu.Unlock()
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func newUID() string {
	return strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(os.Getpid())
}

// ListPods implements backend.Backend, rebuilding each pod from its containers' labels
// and state; readiness comes from the probes kgit runs.
func (b *Backend) ListPods(ctx context.Context, selector map[string]string) ([]*backend.Pod, error) {
	return b.listPods(ctx, selector, true)
}

func (b *Backend) listPods(ctx context.Context, selector map[string]string, probe bool) ([]*backend.Pod, error) {
	f := make(engine.Filters).Add("label", backend.LabelManagedBy+"="+backend.ManagedBy).Add("label", labelPod)
	for k, v := range selector {
		f = f.Add("label", k+"="+v)
	}
	res, err := b.containerList(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("docker: list containers: %w", err)
	}
	groups := map[string][]container.Summary{}
	for _, c := range res {
		key := c.Labels[backend.LabelNamespace] + "_" + c.Labels[labelPod] + "_" + c.Labels[labelPodUID]
		groups[key] = append(groups[key], c)
	}
	var pods []*backend.Pod
	for id, cs := range groups {
		p, err := b.pod(ctx, id, cs, probe)
		if err != nil {
			return nil, err
		}
		if p != nil {
			pods = append(pods, p)
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// pod rebuilds one pod from its containers.
func (b *Backend) pod(ctx context.Context, id string, cs []container.Summary, probe bool) (*backend.Pod, error) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Labels[labelIndex] < cs[j].Labels[labelIndex] })
	var spec backend.PodSpec
	if err := json.Unmarshal([]byte(cs[0].Labels[labelPodSpec]), &spec); err != nil {
		return nil, fmt.Errorf("docker: container %s has an unreadable pod spec: %w", cs[0].ID[:12], err)
	}
	created, _ := time.Parse(time.RFC3339Nano, cs[0].Labels[labelCreated])
	p := &backend.Pod{ID: id, PodSpec: spec, UID: cs[0].Labels[labelPodUID], Created: created}
	p.Status.PodIP = cs[0].Labels[labelPodIP]
	var ids []string
	byName := map[string]container.Summary{}
	for _, c := range cs {
		byName[c.Labels[labelContainer]] = c
	}
	nInit := len(spec.Spec.InitContainers)
	for i, c := range append(append([]manifest.Container(nil), spec.Spec.InitContainers...), spec.Spec.Containers...) {
		statuses := &p.Status.Containers
		if i < nInit {
			statuses = &p.Status.InitContainers
		}
		sum, ok := byName[c.Name]
		if !ok {
			*statuses = append(*statuses, backend.ContainerStatus{Name: c.Name, State: backend.StateWaiting, Reason: "ContainerMissing"})
			continue
		}
		ids = append(ids, sum.ID)
		ins, err := b.inspect(ctx, sum)
		if err != nil {
			if noSuch(err) {
				return nil, nil // removed meanwhile
			}
			return nil, fmt.Errorf("docker: inspect %s: %w", sum.ID[:12], err)
		}
		var lastExit *int
		if b.Podman(ctx) {
			lastExit = b.podmanLastExit(ctx, ins)
		}
		cst := containerStatus(c.Name, ins, b.Podman(ctx), lastExit, time.Now())
		if i < nInit && cst.State == backend.StateWaiting && cst.Reason == "ContainerCreating" {
			cst.Reason = "PodInitializing"
		}
		if probe {
			b.observe(ctx, p, &c, ins, &cst)
		} else {
			cst.Ready = cst.State == backend.StateRunning && c.ReadinessProbe == nil && c.StartupProbe == nil
		}
		if !cst.StartedAt.IsZero() && (p.Status.StartTime.IsZero() || cst.StartedAt.Before(p.Status.StartTime)) {
			p.Status.StartTime = cst.StartedAt
		}
		*statuses = append(*statuses, cst)
	}
	p.Status.Phase, p.Status.Ready = backend.PodPhaseOf(&spec.Spec, p.Status.InitContainers, p.Status.Containers)
	if p.Status.Ready {
		p.Status.ReadySince = b.readySince(p, ids)
	}
	return p, nil
}

// containerStatus reads Docker's state as Kubernetes' container state; podman says
// whether Podman reported it, seen at now, and lastExit is the exit code of the run
// before a restart when the state does not hold it (Podman's).
func containerStatus(name string, c container.InspectResponse, podman bool, lastExit *int, now time.Time) backend.ContainerStatus {
	st := backend.ContainerStatus{Name: name, RestartCount: int32(c.RestartCount)}
	s := c.State
	if s == nil {
		st.State, st.Reason = backend.StateWaiting, "ContainerCreating"
		return st
	}
	started, _ := time.Parse(time.RFC3339Nano, s.StartedAt)
	finished, _ := time.Parse(time.RFC3339Nano, s.FinishedAt)
	st.StartedAt = started
	exitCode := s.ExitCode
	if lastExit != nil && s.Running {
		exitCode = *lastExit
	}
	term := func() *backend.Termination {
		t := &backend.Termination{ExitCode: exitCode, Reason: "Completed", StartedAt: started, FinishedAt: finished}
		if s.OOMKilled {
			t.Reason = "OOMKilled"
		} else if exitCode != 0 {
			t.Reason = "Error"
		}
		return t
	}
	// Podman's restarts: the container is running, and restarted less than podmanBackOff ago.
	podmanRestarted := podman && s.Running && c.RestartCount > 0 && !finished.IsZero() && now.Sub(started) < podmanBackOff
	switch {
	case s.Running && !s.Restarting && !podmanRestarted:
		st.State = backend.StateRunning
		if c.RestartCount > 0 && !finished.IsZero() {
			st.LastTermination = term()
		}
	case s.Restarting || podmanRestarted:
		st.State, st.Reason = backend.StateWaiting, "CrashLoopBackOff"
		st.LastTermination = term()
		st.Message = fmt.Sprintf("back-off restarting failed container=%s (last exit code %d)", name, exitCode)
	case string(s.Status) == "created":
		st.State, st.Reason = backend.StateWaiting, "ContainerCreating"
	default:
		t := term()
		st.State, st.Reason, st.ExitCode, st.FinishedAt, st.LastTermination = backend.StateTerminated, t.Reason, t.ExitCode, finished, t
		if s.Error != "" {
			st.Reason, st.Message = "StartError", s.Error
		}
	}
	return st
}

// DeletePod stops the pod's containers (SIGTERM, the grace period as the stop
// timeout, then SIGKILL) and removes them.
func (b *Backend) DeletePod(ctx context.Context, id string, grace time.Duration) error {
	ns, rest, _ := strings.Cut(id, "_")
	name, uid, _ := strings.Cut(rest, "_")
	return b.removePodUID(ctx, ns, name, uid, grace)
}

func (b *Backend) removePodUID(ctx context.Context, ns, name, uid string, grace time.Duration) error {
	f := make(engine.Filters).Add("label", backend.LabelManagedBy+"="+backend.ManagedBy).
		Add("label", backend.LabelNamespace+"="+ns).Add("label", labelPod+"="+name)
	if uid != "" {
		f = f.Add("label", labelPodUID+"="+uid)
	}
	res, err := b.containerList(ctx, f)
	if err != nil {
		return fmt.Errorf("docker: list containers of pod %s: %w", name, err)
	}
	if len(res) > 0 && grace > 0 {
		if err := b.drain(ctx, ns, name, uid, res[0].Labels); err != nil {
			return fmt.Errorf("docker: drain pod %s: %w", name, err)
		}
	}
	// The containers that join the first one's network go first.
	sort.Slice(res, func(i, j int) bool { return res[i].Labels[labelIndex] > res[j].Labels[labelIndex] })
	var errs []error
	deadline := time.Now().Add(grace) // preStop hooks count against the grace period
	for _, c := range res {
		secs := int(math.Round(b.preStop(ctx, specContainer(c.Labels), c.ID, max(time.Until(deadline), 0)).Seconds()))
		// A stop that failed matters only when the container cannot be removed either:
		// the removal kills what still runs. Podman 4.3 refuses to finish the stop of a
		// container its restart policy has just started again ("refusing to clean up:
		// container state improper"), as seen in `down` of a pod failing its liveness probe.
		stopErr := b.cli.ContainerStop(ctx, c.ID, &secs)
		if stopErr != nil && noSuch(stopErr) {
			stopErr = nil
		}
		if err := b.removeContainer(ctx, c.ID); err != nil {
			if stopErr != nil {
				errs = append(errs, stopErr)
			}
			errs = append(errs, err)
		} else if stopErr != nil && b.log != nil {
			cname := c.ID
			if len(c.Names) > 0 {
				cname = strings.TrimPrefix(c.Names[0], "/")
			}
			fmt.Fprintf(b.log, "warning: pod %s: the stop of container %s failed (%v); it was removed by force\n", name, cname, stopErr)
		}
		b.mu.Lock()
		delete(b.probes, c.ID)
		b.mu.Unlock()
	}
	if err := b.removePodVolumes(ctx, ns, name, uid); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("docker: delete pod %s: %w", name, errors.Join(errs...))
	}
	return nil
}

// removeContainer removes a stopped container. Podman's API at times still sees a
// container it has just stopped as running and refuses to remove it ("container state
// improper"), for seconds on a loaded machine: kgit kills it and tries again, for
// about eight seconds, before it reports.
func (b *Backend) removeContainer(ctx context.Context, id string) error {
	var err error
	for try := range 10 {
		if err = b.cli.ContainerRemove(ctx, id, true); err == nil || noSuch(err) {
			return nil
		}
		if !strings.Contains(err.Error(), "state improper") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(min(time.Duration(try+1)*200*time.Millisecond, time.Second)):
		}
		zero := 0
		_ = b.cli.ContainerStop(ctx, id, &zero)
	}
	return err
}

// extraHosts are the Services' names as the engine takes them, sorted.
func extraHosts(hosts map[string]string) []string {
	out := make([]string, 0, len(hosts))
	for name, ip := range hosts {
		out = append(out, name+":"+ip)
	}
	sort.Strings(out)
	return out
}
