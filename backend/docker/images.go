package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/jsonstream"

	"kgit.dev/kgit/manifest"
)

// ensureImage honours imagePullPolicy: Always pulls, IfNotPresent pulls only a missing
// image, Never only checks. A failure names the image.
//
// What is settled is remembered for imageMemory: the pods of one rollout share their
// image, and the engine need not be asked again for each of them.
func (b *Backend) ensureImage(ctx context.Context, c *manifest.Container, pullSecrets []string) error {
	key := c.ImagePullPolicy + " " + c.Image
	if b.imageSettled(key) {
		return nil
	}
	mu, _ := b.imageLocks.LoadOrStore(key, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if b.imageSettled(key) {
		return nil
	}
	if err := b.ensureImageOnce(ctx, c, pullSecrets); err != nil {
		return err
	}
	b.images.Store(key, time.Now())
	return nil
}

// imageMemory is how long a settled image is not checked again (a watching kgit checks
// again, and an image removed from the engine is found missing again).
const imageMemory = 30 * time.Second

func (b *Backend) imageSettled(key string) bool {
	at, ok := b.images.Load(key)
	return ok && time.Since(at.(time.Time)) < imageMemory
}

// forgetImages drops what is remembered of a pod's images (a create found one missing).
func (b *Backend) forgetImages(spec *manifest.PodSpec) {
	for _, c := range spec.Containers {
		b.images.Delete(c.ImagePullPolicy + " " + c.Image)
	}
}

func (b *Backend) ensureImageOnce(ctx context.Context, c *manifest.Container, pullSecrets []string) error {
	_, inspectErr := b.cli.ImageInspect(ctx, c.Image)
	present := inspectErr == nil
	switch c.ImagePullPolicy {
	case "Never":
		if !present {
			return fmt.Errorf("image %q is not present and imagePullPolicy is Never (ErrImageNeverPull)", c.Image)
		}
		return nil
	case "IfNotPresent":
		if present {
			return nil
		}
	}
	return b.pull(ctx, c.Image, present, pullAuth(c.Image, pullSecrets))
}

// pull pulls an image, showing progress, with auth (X-Registry-Auth, from the pod's
// imagePullSecrets) if any; with Always a failed pull of an image that is present is
// reported and the local copy used, as the kubelet would retry later.
func (b *Backend) pull(ctx context.Context, image string, present bool, auth string) error {
	if b.log != nil {
		fmt.Fprintf(b.log, "pulling image %s\n", image)
	}
	resp, err := b.cli.ImagePull(ctx, image, auth)
	if err == nil {
		dec := json.NewDecoder(resp)
		for {
			var msg jsonstream.Message
			if merr := dec.Decode(&msg); merr != nil {
				if merr != io.EOF {
					err = merr
				}
				break
			}
			if msg.Error != nil {
				err = fmt.Errorf("%s", msg.Error.Message)
				break
			}
			if b.log != nil && msg.Status != "" && msg.Progress == nil {
				fmt.Fprintf(b.log, "  %s %s\n", image, strings.TrimSpace(msg.ID+" "+msg.Status))
			}
		}
		resp.Close()
	}
	if err != nil {
		if present {
			if b.log != nil {
				fmt.Fprintf(b.log, "warning: pull of %s failed, using the local image: %v\n", image, err)
			}
			return nil
		}
		return fmt.Errorf("image %q could not be pulled (ErrImagePull): %w", image, err)
	}
	return nil
}
