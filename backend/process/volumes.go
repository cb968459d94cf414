//go:build linux

package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"kgit.dev/kgit/manifest"
)

// bindMount is one volume mount of a container.
type bindMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// volumeDir is where a pod volume's content lives: claims under the root (they
// outlive the pod), the others in the pod's folder.
func (s *supervisor) volumeDir(v *manifest.Volume) string {
	switch {
	case v.HostPath != nil:
		return v.HostPath.Path
	case v.PersistentVolumeClaim != nil:
		return ClaimDir(s.root, s.pod.Namespace, v.PersistentVolumeClaim.ClaimName)
	}
	return filepath.Join(s.dir, "volumes", v.Name)
}

// ClaimDir is the folder of a persistentVolumeClaim's data.
func ClaimDir(root, ns, claim string) string { return filepath.Join(root, "claims", ns, claim) }

// RemoveClaim implements backend.ClaimRemover: the claim's folder goes.
func (b *Backend) RemoveClaim(ctx context.Context, ns, name string) error {
	if err := os.RemoveAll(ClaimDir(b.root, ns, name)); err != nil {
		return fmt.Errorf("process: remove claim %s/%s: %w", ns, name, err)
	}
	return nil
}

// prepareVolumes makes the pod's volumes on disk: emptyDir and claim folders, and the
// files of configMap and secret volumes. A Secret's files are written with the group
// and other bits cleared (0644 becomes 0600): they are on the host's disk.
func (s *supervisor) prepareVolumes() error {
	for i := range s.pod.Spec.Volumes {
		v := &s.pod.Spec.Volumes[i]
		dir := s.volumeDir(v)
		switch {
		case v.EmptyDir != nil, v.PersistentVolumeClaim != nil:
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
		case v.ConfigMap != nil, v.Secret != nil:
			vf := s.pod.Files[v.Name]
			if vf == nil {
				return fmt.Errorf("volume %s: its files were not resolved", v.Name)
			}
			if err := writeVolume(dir, vf); err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
	}
	if len(s.pod.Hosts) > 0 && namespacesAvailable() {
		if err := writeHosts(filepath.Join(s.dir, "hosts"), s.pod.Hosts); err != nil {
			return fmt.Errorf("hosts file: %w", err)
		}
	}
	return nil
}

// writeHosts writes the host's /etc/hosts followed by the Services' names.
func writeHosts(path string, hosts map[string]string) error {
	base, _ := os.ReadFile("/etc/hosts")
	byIP := map[string][]string{}
	for name, ip := range hosts {
		byIP[ip] = append(byIP[ip], name)
	}
	ips := make([]string, 0, len(byIP))
	for ip := range byIP {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	var b strings.Builder
	b.Write(base)
	b.WriteString("\n# kgit: the Services of the pod's namespace (and NAME.NAMESPACE of the others)\n")
	for _, ip := range ips {
		names := byIP[ip]
		sort.Strings(names)
		fmt.Fprintf(&b, "%s\t%s\n", ip, strings.Join(names, " "))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// namespacesAvailable reports whether containers can get a mount namespace: as root,
// or through a user namespace when the kernel lets users make them.
func namespacesAvailable() bool {
	if os.Geteuid() == 0 {
		return true
	}
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return false
	}
	b, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	return err == nil && strings.TrimSpace(string(b)) != "0"
}

func writeVolume(dir string, vf *manifest.VolumeFiles) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range vf.Files {
		mode := vf.FileMode(f)
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, mode); err != nil {
			return err
		}
		if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is masked by the umask
			return err
		}
	}
	return nil
}

// mounts returns a container's volume mounts, and the pod's hosts file over /etc/hosts
// when it has one. configMap and secret volumes are always read-only, as in Kubernetes.
func (s *supervisor) mounts(c *manifest.Container) []bindMount {
	var out []bindMount
	for _, m := range c.VolumeMounts {
		v := s.pod.Spec.FindVolume(m.Name)
		if v == nil || !mountable(v) {
			continue
		}
		ro := m.ReadOnly || v.ConfigMap != nil || v.Secret != nil || v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ReadOnly
		out = append(out, bindMount{Source: filepath.Join(s.volumeDir(v), m.SubPath), Target: m.MountPath, ReadOnly: ro})
	}
	if hosts := filepath.Join(s.dir, "hosts"); fileExists(hosts) {
		out = append(out, bindMount{Source: hosts, Target: "/etc/hosts", ReadOnly: true})
	}
	return out
}

func mountable(v *manifest.Volume) bool {
	return v.HostPath != nil || v.EmptyDir != nil || v.ConfigMap != nil || v.Secret != nil || v.PersistentVolumeClaim != nil
}

// withMounts makes cmd run through the supervisor's `__mountexec` mode in a new mount namespace when the
// container mounts volumes. As root that is a plain mount namespace; otherwise a user
// namespace maps the user to root inside it, so that it may mount.
func (s *supervisor) withMounts(c *manifest.Container, path string, argv []string, attr *syscall.SysProcAttr) (string, []string, error) {
	mounts := s.mounts(c)
	if len(mounts) == 0 {
		return path, argv, nil
	}
	spec, err := json.Marshal(mounts)
	if err != nil {
		return "", nil, err
	}
	attr.Unshareflags |= syscall.CLONE_NEWNS
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	// The supervisor's own binary, through /proc: it may have been deleted since it
	// started (a `go run` that ended, an upgrade), and a restart must still mount.
	return "/proc/self/exe", append([]string{"kgit", MountCommand, string(spec), path}, argv...), nil
}

// MountExec is the body of `kgit __mountexec MOUNTS PATH ARGV...`: it runs in the
// container's fresh mount namespace, bind-mounts each volume at its target (creating a
// missing target, as an empty folder or file, on the host's filesystem), and executes
// the command in place, keeping the PID.
func MountExec(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: kgit " + MountCommand + " MOUNTS PATH ARGV")
	}
	var mounts []bindMount
	if err := json.Unmarshal([]byte(args[0]), &mounts); err != nil {
		return err
	}
	runtime.LockOSThread()
	for _, m := range mounts {
		if err := bind(m); err != nil {
			return fmt.Errorf("mount %s at %s: %w", m.Source, m.Target, err)
		}
	}
	return syscall.Exec(args[1], args[2:], os.Environ())
}

func bind(m bindMount) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return err
	}
	if st.IsDir() {
		err = os.MkdirAll(m.Target, 0o755)
	} else if _, serr := os.Stat(m.Target); errors.Is(serr, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(m.Target), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(m.Target, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				err = f.Close()
			}
		}
	}
	if err != nil {
		return err
	}
	if err := syscall.Mount(m.Source, m.Target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return err
	}
	if m.ReadOnly {
		return syscall.Mount("", m.Target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
	}
	return nil
}
