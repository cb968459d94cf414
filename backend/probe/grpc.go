package probe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"golang.org/x/net/http2/hpack"
)

// The gRPC probe makes one unary call, grpc.health.v1.Health/Check, over cleartext
// HTTP/2 (as the kubelet's does: no TLS), with a client of its own: the grpc module
// would add megabytes to every pod's supervisor, golang.org/x/net/http2 links net/http;
// the call needs only HTTP/2's frame layout and HPACK (golang.org/x/net/http2/hpack).

// HTTP/2 frame types and flags (RFC 9113).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePing         = 0x6
	frameGoAway       = 0x7
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	maxFrame = 1 << 14 // the default SETTINGS_MAX_FRAME_SIZE, which the client announces
)

// grpcStatusNames are gRPC's status codes by number, as its errors print them.
var grpcStatusNames = []string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
	"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

// servingStatus are grpc.health.v1.HealthCheckResponse.ServingStatus's names.
var servingStatus = []string{"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"}

// GRPC runs a grpc probe against host:port: it passes when the health service answers
// SERVING for service ("" asks about the server as a whole). The messages are the
// kubelet's.
func GRPC(ctx context.Context, host string, port int, service string, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, fmt.Sprintf("timeout: failed to connect service %q within %v: %v", addr, timeout, unwrap(err))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	status, err := healthCheck(conn, addr, service)
	switch {
	case ctx.Err() != nil:
		return false, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
	case err != nil:
		return false, err.Error()
	case status != 1:
		name := strconv.Itoa(status)
		if status >= 0 && status < len(servingStatus) {
			name = servingStatus[status]
		}
		return false, fmt.Sprintf("service unhealthy (responded with %q)", name)
	}
	return true, ""
}

// healthCheck makes the call on conn and returns the ServingStatus answered.
func healthCheck(conn net.Conn, authority, service string) (int, error) {
	var hdr bytes.Buffer
	enc := hpack.NewEncoder(&hdr)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/grpc.health.v1.Health/Check"},
		{":authority", authority}, {"content-type", "application/grpc"}, {"te", "trailers"}, {"user-agent", UserAgent}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if hdr.Len() > maxFrame {
		return 0, errors.New("health rpc: request headers too large")
	}
	// HealthCheckRequest{service = 1}, as a length-prefixed gRPC message.
	var msg []byte
	if service != "" {
		msg = append(protoVarint([]byte{0x0a}, uint64(len(service))), service...)
	}
	body := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	body = append(body, msg...)
	if len(body) > maxFrame {
		return 0, errors.New("health rpc: service name too long")
	}
	w := bufio.NewWriter(conn)
	w.WriteString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	writeFrame(w, frameSettings, 0, 0, nil)
	writeFrame(w, frameHeaders, flagEndHeaders, 1, hdr.Bytes())
	writeFrame(w, frameData, flagEndStream, 1, body)
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("health rpc: %w", unwrap(err))
	}

	r := bufio.NewReader(conn)
	dec := hpack.NewDecoder(4096, nil)
	var data, block []byte
	trailerEnds := false
	grpcStatus, grpcMessage, httpStatus := "", "", ""
	for ended := false; !ended; {
		typ, flags, stream, payload, err := readFrame(r)
		if err != nil {
			return 0, fmt.Errorf("health rpc: %w", unwrap(err))
		}
		switch typ {
		case frameSettings:
			if flags&flagAck == 0 {
				writeFrame(w, frameSettings, flagAck, 0, nil)
				_ = w.Flush()
			}
			continue
		case framePing:
			if flags&flagAck == 0 {
				writeFrame(w, framePing, flagAck, 0, payload)
				_ = w.Flush()
			}
			continue
		case frameGoAway:
			return 0, errors.New("rpc error: code = Unavailable desc = the server closed the connection (GOAWAY)")
		}
		if stream != 1 {
			continue
		}
		ended = flags&flagEndStream != 0 && (typ == frameData || typ == frameHeaders)
		switch typ {
		case frameRSTStream:
			return 0, errors.New("rpc error: code = Unavailable desc = the server reset the stream")
		case frameData:
			if payload, err = unpad(flags, payload); err != nil {
				return 0, err
			}
			if len(data)+len(payload) > MaxOutput {
				return 0, errors.New("health rpc: response too large")
			}
			data = append(data, payload...)
		case frameHeaders, frameContinuation:
			if typ == frameHeaders {
				if payload, err = unpad(flags, payload); err != nil {
					return 0, err
				}
				if flags&flagPriority != 0 {
					if len(payload) < 5 {
						return 0, errors.New("health rpc: malformed HEADERS frame")
					}
					payload = payload[5:]
				}
				if len(block)+len(payload) > maxHead {
					return 0, errors.New("health rpc: response headers too large")
				}
			}
			block = append(block, payload...)
			if flags&flagEndHeaders == 0 {
				if ended {
					trailerEnds, ended = true, false // the stream ends after the CONTINUATIONs
				}
				continue
			}
			ended = ended || trailerEnds
			fields, err := dec.DecodeFull(block)
			block = block[:0]
			if err != nil {
				return 0, fmt.Errorf("health rpc: %w", err)
			}
			for _, f := range fields {
				switch f.Name {
				case ":status":
					httpStatus = f.Value
				case "grpc-status":
					grpcStatus = f.Value
				case "grpc-message":
					grpcMessage = f.Value
				}
			}
		}
	}
	if httpStatus != "" && httpStatus != "200" {
		return 0, fmt.Errorf("rpc error: code = Unknown desc = unexpected HTTP status code received from server: %s", httpStatus)
	}
	if grpcStatus != "0" {
		code, _ := strconv.Atoi(grpcStatus)
		name := "Unknown"
		if grpcStatus != "" && code >= 0 && code < len(grpcStatusNames) {
			name = grpcStatusNames[code]
		}
		return 0, fmt.Errorf("rpc error: code = %s desc = %s", name, grpcMessage)
	}
	// HealthCheckResponse{status = 1}: a varint after its 5-byte message prefix.
	if len(data) < 5 {
		return 0, errors.New("rpc error: code = Internal desc = no response message")
	}
	return protoStatus(data[5:]), nil
}

// protoStatus reads field 1 (a varint) of a protobuf message; 0 (UNKNOWN) without it.
func protoStatus(b []byte) int {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return 0
		}
		b = b[n:]
		switch key & 7 {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return 0
			}
			if key>>3 == 1 {
				return int(v)
			}
			b = b[n:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return 0
			}
			b = b[n+int(l):]
		default:
			return 0
		}
	}
	return 0
}

func protoVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func writeFrame(w *bufio.Writer, typ, flags byte, stream uint32, payload []byte) {
	n := len(payload)
	w.Write([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags})
	_ = binary.Write(w, binary.BigEndian, stream&0x7fffffff)
	w.Write(payload)
}

// readFrame reads one frame; a payload larger than the client announced is an error.
func readFrame(r *bufio.Reader) (typ, flags byte, stream uint32, payload []byte, err error) {
	var head [9]byte
	if _, err = io.ReadFull(r, head[:]); err != nil {
		return
	}
	n := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
	if n > maxFrame {
		err = fmt.Errorf("frame of %d bytes is larger than %d", n, maxFrame)
		return
	}
	typ, flags, stream = head[3], head[4], binary.BigEndian.Uint32(head[5:])&0x7fffffff
	payload = make([]byte, n)
	_, err = io.ReadFull(r, payload)
	return
}

// unpad strips a padded frame's padding.
func unpad(flags byte, p []byte) ([]byte, error) {
	if flags&flagPadded == 0 {
		return p, nil
	}
	if len(p) < 1 || int(p[0]) >= len(p) {
		return nil, errors.New("health rpc: malformed padding")
	}
	return p[1 : len(p)-int(p[0])], nil
}
