package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/volume"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// labelClaim marks the named volume of a persistentVolumeClaim.
const labelClaim = "kgit.dev/claim"

// copyIn is a configMap or secret volume's files, copied into a container before it
// starts (the engine may be remote: no host folder is shared with it).
type copyIn struct {
	target string
	vf     *manifest.VolumeFiles // for the files' modes
	files  []manifest.VolumeFile
}

// ClaimVolume is the engine volume that holds a persistentVolumeClaim's data.
func ClaimVolume(ns, claim string) string { return "kgit-pvc-" + ns + "-" + claim }

// RemoveClaim implements backend.ClaimRemover: the claim's named volume goes.
func (b *Backend) RemoveClaim(ctx context.Context, ns, name string) error {
	if err := b.cli.VolumeRemove(ctx, ClaimVolume(ns, name), true); err != nil && !noSuch(err) {
		return fmt.Errorf("docker: remove claim %s/%s: %w", ns, name, err)
	}
	return nil
}

// podVolume is the engine volume of a pod's emptyDir: it lives as long as the pod.
func podVolume(ns, pod, uid, vol string) string {
	return "kgit-" + ns + "-" + pod + "-" + uid[:8] + "-" + vol
}

// volumes maps a container's volumeMounts: hostPath as binds (kgit refuses them unless
// host access is allowed), emptyDir and persistentVolumeClaim as named volumes, and
// configMap and secret volumes as files to copy in.
func (b *Backend) volumes(spec backend.PodSpec, uid string, c *manifest.Container) (binds []string, mounts []mount.Mount, copies []copyIn, err error) {
	for _, m := range c.VolumeMounts {
		v := spec.Spec.FindVolume(m.Name)
		if v == nil {
			return nil, nil, nil, fmt.Errorf("container %s mounts volume %q, which the pod does not have", c.Name, m.Name)
		}
		switch {
		case v.HostPath != nil:
			bind := path.Join(v.HostPath.Path, m.SubPath) + ":" + m.MountPath
			if m.ReadOnly {
				bind += ":ro"
			}
			binds = append(binds, bind)
		case v.EmptyDir != nil || v.PersistentVolumeClaim != nil:
			if m.SubPath != "" && apiBefore(b.cli.Version(), 1, 45) {
				return nil, nil, nil, fmt.Errorf("container %s: subPath on volume %q needs Docker API 1.45; the engine speaks %s", c.Name, v.Name, b.cli.Version())
			}
			labels := map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelNamespace: spec.Namespace}
			mt := mount.Mount{Type: mount.TypeVolume, Target: m.MountPath, ReadOnly: m.ReadOnly,
				VolumeOptions: &mount.VolumeOptions{Labels: labels, Subpath: m.SubPath}}
			if v.EmptyDir != nil {
				mt.Source = podVolume(spec.Namespace, spec.Name, uid, v.Name)
				labels[labelPod], labels[labelPodUID] = spec.Name, uid
				if v.EmptyDir.Medium == "Memory" {
					mt.VolumeOptions.DriverConfig = &mount.Driver{Name: "local", Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}}
				}
			} else {
				mt.Source = ClaimVolume(spec.Namespace, v.PersistentVolumeClaim.ClaimName)
				mt.ReadOnly = mt.ReadOnly || v.PersistentVolumeClaim.ReadOnly
				labels[labelClaim] = v.PersistentVolumeClaim.ClaimName
				labels[backend.LabelApp] = spec.Labels[backend.LabelApp]
			}
			mounts = append(mounts, mt)
		case v.ConfigMap != nil || v.Secret != nil:
			vf := spec.Files[v.Name]
			if vf == nil {
				return nil, nil, nil, fmt.Errorf("container %s: the files of volume %q were not resolved", c.Name, v.Name)
			}
			copies = append(copies, copyIn{target: m.MountPath, vf: vf, files: subPathFiles(vf.Files, m.SubPath)})
		}
	}
	return binds, mounts, copies, nil
}

// createVolumes creates the named volumes a container mounts, with their labels and
// driver options, before the container: the engine would create a missing one itself,
// but Podman then leaves out its labels (which say whose it is, and which pod's
// emptyDir goes with the pod). An existing volume is kept as it is.
func (b *Backend) createVolumes(ctx context.Context, mounts []mount.Mount) error {
	for _, m := range mounts {
		if m.Type != mount.TypeVolume || m.VolumeOptions == nil {
			continue
		}
		opts := volume.CreateRequest{Name: m.Source, Labels: m.VolumeOptions.Labels}
		if d := m.VolumeOptions.DriverConfig; d != nil {
			opts.Driver, opts.DriverOpts = d.Name, d.Options
		}
		if _, err := b.cli.VolumeCreate(ctx, opts); err != nil && !alreadyExists(err) {
			return fmt.Errorf("docker: create volume %s: %w", m.Source, err)
		}
	}
	return nil
}

// alreadyExists reports an engine error about a volume created by another at the same
// moment (Podman; Docker hands the existing volume to the second creator).
func alreadyExists(err error) bool {
	return strings.Contains(err.Error(), "already exists")
}

// subPathFiles narrows a volume's files to a subPath, renamed relative to it; a
// subPath naming one file keeps that file under the mount path's own name.
func subPathFiles(files []manifest.VolumeFile, sub string) []manifest.VolumeFile {
	if sub == "" {
		return files
	}
	sub = path.Clean(sub)
	var out []manifest.VolumeFile
	for _, f := range files {
		switch {
		case f.Path == sub:
			f.Path = ""
			out = append(out, f)
		case strings.HasPrefix(f.Path, sub+"/"):
			f.Path = strings.TrimPrefix(f.Path, sub+"/")
			out = append(out, f)
		}
	}
	return out
}

// copyFiles writes a volume's files into a created container at target.
func (b *Backend) copyFiles(ctx context.Context, id string, cp copyIn) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir, base := path.Dir(cp.target), path.Base(cp.target)
	dirs := map[string]bool{}
	for _, f := range cp.files {
		name := path.Join(base, f.Path)
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(cp.vf.FileMode(f)), Size: int64(len(f.Data))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	if len(cp.files) == 0 { // an optional source that is missing: an empty folder
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: base + "/", Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	err := b.cli.CopyToContainer(ctx, id, dir, buf.Bytes())
	return err
}

// removePodVolumes removes the emptyDir volumes of a pod (of one incarnation if uid is
// set); claims' volumes stay.
func (b *Backend) removePodVolumes(ctx context.Context, ns, name, uid string) error {
	sel := map[string]string{backend.LabelManagedBy: backend.ManagedBy, backend.LabelNamespace: ns, labelPod: name}
	if uid != "" {
		sel[labelPodUID] = uid
	}
	vols, err := b.volumeList(ctx, sel)
	if err != nil {
		return err
	}
	for _, v := range vols {
		if err := b.cli.VolumeRemove(ctx, v.Name, true); err != nil && !noSuch(err) {
			return err
		}
	}
	return nil
}

// apiBefore reports whether an API version "1.41" is older than major.minor.
func apiBefore(v string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(v, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma < major || ma == major && mi < minor
}
