package engine

import (
	"context"
	"net"
	"os"
	"strings"
	"time"
)

// DefaultHost is the engine's address when DOCKER_HOST names none.
const DefaultHost = "npipe:////./pipe/docker_engine"

// dialPipe opens a connection to the engine's named pipe (//./pipe/NAME), which
// Windows opens as a file.
func dialPipe(_ context.Context, addr string) (net.Conn, error) {
	f, err := os.OpenFile(strings.ReplaceAll(addr, "/", `\`), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return pipeConn{f}, nil
}

// pipeConn is a named pipe as the connection a request needs.
type pipeConn struct{ *os.File }

type pipeAddr string

func (a pipeAddr) Network() string { return "npipe" }
func (a pipeAddr) String() string  { return string(a) }

func (p pipeConn) LocalAddr() net.Addr                { return pipeAddr(p.Name()) }
func (p pipeConn) RemoteAddr() net.Addr               { return pipeAddr(p.Name()) }
func (p pipeConn) SetDeadline(t time.Time) error      { return nil }
func (p pipeConn) SetReadDeadline(t time.Time) error  { return nil }
func (p pipeConn) SetWriteDeadline(t time.Time) error { return nil }
