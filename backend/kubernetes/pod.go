package kubernetes

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"kgit.dev/kgit/backend"
	"kgit.dev/kgit/manifest"
)

// PodOf turns a Pod as the API server returns it into kgit's backend.Pod: its name,
// namespace, labels, annotations, spec (containers, ports) and the status that exec and
// port-forward need (phase, address, readiness, creation time).
func PodOf(o map[string]any) (*backend.Pod, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var in struct {
		Metadata struct {
			Name              string            `json:"name"`
			Namespace         string            `json:"namespace"`
			UID               string            `json:"uid"`
			Labels            map[string]string `json:"labels"`
			Annotations       map[string]string `json:"annotations"`
			CreationTimestamp time.Time         `json:"creationTimestamp"`
			DeletionTimestamp *time.Time        `json:"deletionTimestamp"`
		} `json:"metadata"`
		Spec   manifest.PodSpec `json:"spec"`
		Status struct {
			Phase      string    `json:"phase"`
			Reason     string    `json:"reason"`
			Message    string    `json:"message"`
			PodIP      string    `json:"podIP"`
			StartTime  time.Time `json:"startTime"`
			Conditions []struct {
				Type               string    `json:"type"`
				Status             string    `json:"status"`
				LastTransitionTime time.Time `json:"lastTransitionTime"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("pod %s: %w", strOf(o, "metadata", "name"), err)
	}
	p := &backend.Pod{
		ID:      in.Metadata.Namespace + "/" + in.Metadata.Name,
		UID:     in.Metadata.UID,
		Created: in.Metadata.CreationTimestamp,
		PodSpec: backend.PodSpec{
			Name: in.Metadata.Name, Namespace: in.Metadata.Namespace,
			Labels: in.Metadata.Labels, Annotations: in.Metadata.Annotations,
			Spec: in.Spec,
		},
		Status: backend.PodStatus{
			Phase: in.Status.Phase, Reason: in.Status.Reason, Message: in.Status.Message,
			PodIP: in.Status.PodIP, StartTime: in.Status.StartTime,
			Terminating: in.Metadata.DeletionTimestamp != nil,
		},
	}
	for _, c := range in.Status.Conditions {
		if c.Type == "Ready" && c.Status == "True" {
			p.Status.Ready, p.Status.ReadySince = true, c.LastTransitionTime
		}
	}
	return p, nil
}

// ServiceOf turns a Service as the API server returns it into kgit's manifest.Service
// (its ports and selector), for port-forward svc/NAME.
func ServiceOf(o map[string]any) (*manifest.Service, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	s := &manifest.Service{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("service %s: %w", strOf(o, "metadata", "name"), err)
	}
	return s, nil
}

func strOf(o map[string]any, path ...string) string {
	for i, k := range path {
		if i == len(path)-1 {
			s, _ := o[k].(string)
			return s
		}
		o, _ = o[k].(map[string]any)
	}
	return ""
}

// podURL is the URL of a pod's subresource (exec, portforward) on the API server.
func (t *Target) podURL(p *backend.Pod, sub string, q url.Values) (*url.URL, error) {
	ns := p.Namespace
	if ns == "" {
		ns = t.Namespace
	}
	base := strings.TrimSuffix(t.rest.Host, "/")
	if !strings.Contains(base, "://") {
		base = "https://" + base
	}
	u, err := url.Parse(base + "/api/v1/namespaces/" + url.PathEscape(ns) + "/pods/" + url.PathEscape(p.Name) + "/" + sub)
	if err != nil {
		return nil, err
	}
	u.RawQuery = q.Encode()
	return u, nil
}
