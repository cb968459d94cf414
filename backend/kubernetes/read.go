package kubernetes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"kgit.dev/kgit/backend"
)

// Objects returns the app's live objects as the API server returns them (status
// included), for get and describe: the members of its ApplySet, in a stable order.
func (t *Target) Objects(ctx context.Context) ([]map[string]any, error) {
	l, err := t.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, u := range l.Objects() {
		out = append(out, u.Object)
	}
	return out, nil
}

// List returns the objects of a resource as kubectl names it ("pods", "deploy",
// "replicasets.apps", ...) in a namespace ("" for every namespace, or a cluster-scoped
// resource), selected by a label and a field selector (each may be ""), as the API
// server returns them.
func (t *Target) List(ctx context.Context, resource, namespace, labelSelector, fieldSelector string) ([]map[string]any, error) {
	gvr, _ := schema.ParseResourceArg(strings.ToLower(resource))
	var full schema.GroupVersionResource
	var err error
	if gvr != nil {
		full, err = t.expand.ResourceFor(*gvr)
	}
	if gvr == nil || err != nil {
		gr := schema.ParseGroupResource(strings.ToLower(resource))
		if full, err = t.expand.ResourceFor(gr.WithVersion("")); err != nil {
			t.mapper.Reset()
			if full, err = t.expand.ResourceFor(gr.WithVersion("")); err != nil {
				return nil, fmt.Errorf("the server doesn't have a resource type %q", resource)
			}
		}
	}
	opts := metav1.ListOptions{LabelSelector: labelSelector, FieldSelector: fieldSelector}
	list, err := t.dyn.Resource(full).Namespace(namespace).List(ctx, opts)
	if err != nil {
		return nil, t.wrap(err)
	}
	out := make([]map[string]any, len(list.Items))
	for i := range list.Items {
		out[i] = list.Items[i].Object
	}
	return out, nil
}

// Events returns the events about one object (kind and name) in a namespace, as the
// API server returns them, for describe.
func (t *Target) Events(ctx context.Context, namespace, kind, name string) ([]map[string]any, error) {
	return t.List(ctx, "events", namespace, "", "involvedObject.kind="+kind+",involvedObject.name="+name)
}

// Logs writes a pod's container log through the API server (the kubelet serves it: a
// cluster without kubelets, such as kwok's, has none).
func (t *Target) Logs(ctx context.Context, namespace, pod, container string, opts backend.LogOptions, w io.Writer) error {
	hc, err := rest.HTTPClientFor(t.rest)
	if err != nil {
		return err
	}
	q := url.Values{}
	if container != "" {
		q.Set("container", container)
	}
	if opts.Follow {
		q.Set("follow", "true")
	}
	if opts.Previous {
		q.Set("previous", "true")
	}
	if opts.Tail >= 0 {
		q.Set("tailLines", strconv.Itoa(opts.Tail))
	}
	if !opts.Since.IsZero() {
		q.Set("sinceTime", opts.Since.UTC().Format(time.RFC3339))
	}
	if opts.Timestamps {
		q.Set("timestamps", "true")
	}
	u := strings.TrimSuffix(t.rest.Host, "/") + t.rest.APIPath + "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(pod) + "/log?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return t.wrap(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("logs of pod %s/%s: %s: %s", namespace, pod, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
