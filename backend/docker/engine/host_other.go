//go:build !windows

package engine

import (
	"context"
	"errors"
	"net"
)

// DefaultHost is the engine's address when DOCKER_HOST names none.
const DefaultHost = "unix:///var/run/docker.sock"

func dialPipe(context.Context, string) (net.Conn, error) {
	return nil, errors.New("named pipes are Windows'")
}
