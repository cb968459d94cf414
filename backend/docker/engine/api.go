package engine

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"
)

// Filters select what a listing returns: a term ("label", "container", ...) and its
// values, as the engine's "filters" parameter holds them.
type Filters map[string]map[string]bool

// Add adds values to a term.
func (f Filters) Add(term string, values ...string) Filters {
	if f[term] == nil {
		f[term] = map[string]bool{}
	}
	for _, v := range values {
		f[term][v] = true
	}
	return f
}

func (f Filters) set(q url.Values) {
	if len(f) > 0 {
		data, _ := json.Marshal(f)
		q.Set("filters", string(data))
	}
}

// ServerVersion is the engine's version and its components'.
func (c *Client) ServerVersion(ctx context.Context) (system.VersionResponse, error) {
	var v system.VersionResponse
	return v, c.call(ctx, "GET", "/version", nil, nil, &v)
}

// ContainerList lists containers (all: stopped ones too).
func (c *Client) ContainerList(ctx context.Context, all bool, f Filters) ([]container.Summary, error) {
	q := url.Values{}
	if all {
		q.Set("all", "1")
	}
	f.set(q)
	var list []container.Summary
	return list, c.call(ctx, "GET", "/containers/json", q, nil, &list)
}

// ContainerInspect is the engine's whole view of a container.
func (c *Client) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	var r container.InspectResponse
	return r, c.call(ctx, "GET", "/containers/"+id+"/json", nil, nil, &r)
}

// ContainerCreate creates a container named name.
func (c *Client) ContainerCreate(ctx context.Context, name string, req container.CreateRequest) (container.CreateResponse, error) {
	var r container.CreateResponse
	return r, c.call(ctx, "POST", "/containers/create", url.Values{"name": {name}}, req, &r)
}

// ContainerStart starts a container.
func (c *Client) ContainerStart(ctx context.Context, id string) error {
	return c.call(ctx, "POST", "/containers/"+id+"/start", nil, nil, nil)
}

// ContainerStop stops a container, killing it after timeout seconds (nil: its own).
func (c *Client) ContainerStop(ctx context.Context, id string, timeout *int) error {
	return c.call(ctx, "POST", "/containers/"+id+"/stop", timeoutQuery(timeout), nil, nil)
}

// ContainerRestart stops a container as ContainerStop does and starts it again.
func (c *Client) ContainerRestart(ctx context.Context, id string, timeout *int) error {
	return c.call(ctx, "POST", "/containers/"+id+"/restart", timeoutQuery(timeout), nil, nil)
}

func timeoutQuery(timeout *int) url.Values {
	if timeout == nil {
		return nil
	}
	return url.Values{"t": {strconv.Itoa(*timeout)}}
}

// ContainerRemove removes a container (force: a running one too, killed).
func (c *Client) ContainerRemove(ctx context.Context, id string, force bool) error {
	var q url.Values
	if force {
		q = url.Values{"force": {"1"}}
	}
	return c.call(ctx, "DELETE", "/containers/"+id, q, nil, nil)
}

// LogsOptions are the logs parameters kgit uses.
type LogsOptions struct {
	Follow, Timestamps bool
	Tail               string // "all" or a number of lines
	Since              string // seconds since the epoch, with a fraction
}

// ContainerLogs streams a container's output and error, multiplexed as the engine
// sends them (moby's stdcopy reads them apart) for a container without a terminal.
func (c *Client) ContainerLogs(ctx context.Context, id string, o LogsOptions) (io.ReadCloser, error) {
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}}
	if o.Follow {
		q.Set("follow", "1")
	}
	if o.Timestamps {
		q.Set("timestamps", "1")
	}
	if o.Tail != "" {
		q.Set("tail", o.Tail)
	}
	if o.Since != "" {
		q.Set("since", o.Since)
	}
	return c.stream(ctx, "GET", "/containers/"+id+"/logs", q, request{})
}

// ContainerStats is one reading of a container's statistics, with the engine's
// previous one (a JSON container.StatsResponse).
func (c *Client) ContainerStats(ctx context.Context, id string) (io.ReadCloser, error) {
	return c.stream(ctx, "GET", "/containers/"+id+"/stats", url.Values{"stream": {"false"}}, request{})
}

// CopyToContainer unpacks a tar archive into a directory of a container.
func (c *Client) CopyToContainer(ctx context.Context, id, dir string, archive []byte) error {
	resp, err := c.roundTrip(ctx, "PUT", "/containers/"+id+"/archive", url.Values{"path": {dir}},
		request{body: archive, contentType: "application/x-tar"})
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp)
	resp.Close()
	return err
}

// ExecCreate creates an exec instance in a container and returns its ID.
func (c *Client) ExecCreate(ctx context.Context, id string, req container.ExecCreateRequest) (string, error) {
	var r container.ExecCreateResponse
	err := c.call(ctx, "POST", "/containers/"+id+"/exec", nil, req, &r)
	return r.ID, err
}

// Hijacked is an exec's connection: Reader has its output (multiplexed unless it has a
// terminal), Conn takes its input.
type Hijacked struct {
	Conn   net.Conn
	Reader io.Reader
	resp   *response
}

// Close ends the exec's connection.
func (h *Hijacked) Close() error { return h.resp.Close() }

// CloseWrite ends the exec's input.
func (h *Hijacked) CloseWrite() error {
	if cw, ok := h.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ExecStart starts an exec instance and attaches to it.
func (c *Client) ExecStart(ctx context.Context, execID string, tty bool, size *[2]uint) (*Hijacked, error) {
	data, _ := json.Marshal(container.ExecStartRequest{Tty: tty, ConsoleSize: size})
	resp, err := c.roundTrip(ctx, "POST", "/exec/"+execID+"/start", nil, request{body: data, upgrade: true})
	if err != nil {
		return nil, err
	}
	return &Hijacked{Conn: resp.conn, Reader: resp, resp: resp}, nil
}

// ExecInspect is the state of an exec instance (its exit code, once it has ended).
func (c *Client) ExecInspect(ctx context.Context, execID string) (container.ExecInspectResponse, error) {
	var r container.ExecInspectResponse
	return r, c.call(ctx, "GET", "/exec/"+execID+"/json", nil, nil, &r)
}

// Events streams the engine's events (JSON events.Message, one after another) between
// since and until (seconds since the epoch; "": unbounded).
func (c *Client) Events(ctx context.Context, since, until string, f Filters) (io.ReadCloser, error) {
	q := url.Values{}
	if since != "" {
		q.Set("since", since)
	}
	if until != "" {
		q.Set("until", until)
	}
	f.set(q)
	return c.stream(ctx, "GET", "/events", q, request{})
}

// ImageInspect is the engine's view of a local image.
func (c *Client) ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error) {
	var r image.InspectResponse
	return r, c.call(ctx, "GET", "/images/"+ref+"/json", nil, nil, &r)
}

// ImagePull pulls an image, with auth as the X-Registry-Auth header ("": none); the
// stream is the pull's progress (JSON jsonstream.Message, one after another), whose
// last message holds the error of a pull that failed.
func (c *Client) ImagePull(ctx context.Context, ref, auth string) (io.ReadCloser, error) {
	name, tag := splitReference(ref)
	q := url.Values{"fromImage": {name}, "tag": {tag}}
	var r request
	if auth != "" {
		r.header = map[string]string{"X-Registry-Auth": auth}
	}
	return c.stream(ctx, "POST", "/images/create", q, r)
}

// splitReference splits an image reference into its name and its tag or digest
// (latest when it has neither), as the engine's pull asks.
func splitReference(ref string) (name, tag string) {
	if n, digest, ok := strings.Cut(ref, "@"); ok {
		return n, digest
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

// NetworkInspect is the engine's view of a network.
func (c *Client) NetworkInspect(ctx context.Context, id string) (network.Inspect, error) {
	var r network.Inspect
	return r, c.call(ctx, "GET", "/networks/"+id, nil, nil, &r)
}

// NetworkCreate creates a network.
func (c *Client) NetworkCreate(ctx context.Context, req network.CreateRequest) error {
	return c.call(ctx, "POST", "/networks/create", nil, req, nil)
}

// VolumeCreate creates a volume (Docker answers a volume that exists with it, as if
// created).
func (c *Client) VolumeCreate(ctx context.Context, req volume.CreateRequest) (volume.Volume, error) {
	var v volume.Volume
	return v, c.call(ctx, "POST", "/volumes/create", nil, req, &v)
}

// VolumeInspect is the engine's view of a volume.
func (c *Client) VolumeInspect(ctx context.Context, name string) (volume.Volume, error) {
	var v volume.Volume
	return v, c.call(ctx, "GET", "/volumes/"+name, nil, nil, &v)
}

// VolumeList lists volumes.
func (c *Client) VolumeList(ctx context.Context, f Filters) ([]volume.Volume, error) {
	q := url.Values{}
	f.set(q)
	var r volume.ListResponse
	err := c.call(ctx, "GET", "/volumes", q, nil, &r)
	return r.Volumes, err
}

// VolumeRemove removes a volume (force: Docker forgets one its driver cannot remove).
func (c *Client) VolumeRemove(ctx context.Context, name string, force bool) error {
	var q url.Values
	if force {
		q = url.Values{"force": {"1"}}
	}
	return c.call(ctx, "DELETE", "/volumes/"+name, q, nil, nil)
}

// stream sends a request and returns its answer's body, to be read and closed.
func (c *Client) stream(ctx context.Context, method, path string, q url.Values, r request) (io.ReadCloser, error) {
	resp, err := c.roundTrip(ctx, method, path, q, r)
	if err != nil {
		return nil, err
	}
	return resp, nil
}
