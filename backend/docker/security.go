package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// resources maps a container's resources onto the engine's limits, as the kubelet maps
// them onto the cgroup: limits.memory the hard limit, requests.memory the soft one,
// limits.cpu a quota, requests.cpu the relative weight (MilliCPUToShares).
func resources(c *manifest.Container, host *container.HostConfig) {
	r := manifest.ContainerResources(c)
	host.Memory = r.LimitMemory
	host.MemoryReservation = r.RequestMemory
	host.NanoCPUs = r.LimitCPU * 1_000_000
	if r.RequestCPU > 0 {
		host.CPUShares = max(2, r.RequestCPU*1024/1000)
	}
}

// security maps a container's securityContext (merged with its pod's) onto the engine's
// settings: runAsUser and runAsGroup as the user, readOnlyRootFilesystem, dropped
// capabilities, allowPrivilegeEscalation false as no-new-privileges, fsGroup and
// supplementalGroups as added groups. imageUser is the user the image runs as.
func security(spec *manifest.PodSpec, c *manifest.Container, imageUser string, cfg *container.Config, host *container.HostConfig) {
	sc := manifest.SecurityOf(spec, c)
	user, group, _ := strings.Cut(imageUser, ":")
	if sc.RunAsUser != nil {
		user = strconv.FormatInt(*sc.RunAsUser, 10)
	}
	if sc.RunAsGroup != nil {
		group = strconv.FormatInt(*sc.RunAsGroup, 10)
		if user == "" {
			user = "0"
		}
	}
	if sc.RunAsUser != nil || sc.RunAsGroup != nil {
		cfg.User = user
		if group != "" {
			cfg.User += ":" + group
		}
	}
	host.ReadonlyRootfs = sc.ReadOnlyRootFilesystem
	host.CapDrop = sc.Drop
	if sc.NoNewPrivileges {
		host.SecurityOpt = append(host.SecurityOpt, "no-new-privileges")
	}
	if sc.FSGroup != nil {
		host.GroupAdd = append(host.GroupAdd, strconv.FormatInt(*sc.FSGroup, 10))
	}
	for _, g := range sc.SupplementalGroups {
		host.GroupAdd = append(host.GroupAdd, strconv.FormatInt(g, 10))
	}
}

// checkNonRoot refuses a container that must not run as root and would, with the
// kubelet's messages (the kubelet leaves such a container in CreateContainerConfigError).
func checkNonRoot(spec backend.PodSpec, c *manifest.Container, imageUser string) error {
	sc := manifest.SecurityOf(&spec.Spec, c)
	if !sc.RunAsNonRoot {
		return nil
	}
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", spec.Name+"_"+spec.Namespace, c.Name)
		}
		return nil
	}
	user, _, _ := strings.Cut(imageUser, ":")
	uid, err := strconv.ParseInt(user, 10, 64)
	switch {
	case user == "" || user == "root" || err == nil && uid == 0:
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", spec.Name+"_"+spec.Namespace, c.Name)
	case err != nil:
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", user, spec.Name+"_"+spec.Namespace, c.Name)
	}
	return nil
}

// imageUser is the user an image runs as (its USER), "" for root or an image the engine
// cannot inspect.
func (b *Backend) imageUser(ctx context.Context, image string) string {
	res, err := b.cli.ImageInspect(ctx, image)
	if err != nil || res.Config == nil {
		return ""
	}
	return res.Config.User
}
