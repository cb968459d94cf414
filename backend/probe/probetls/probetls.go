// Package probetls secures HTTPS probes. It is apart from package probe so that
// kgit-supervisor, which links probe in every pod's process, does not link crypto/tls.
package probetls

import (
	"context"
	"crypto/tls"
	"net"
)

// Handshake is a probe.Handshake: TLS without verifying the certificate, as the kubelet
// probes.
func Handshake(ctx context.Context, conn net.Conn, serverName string) (net.Conn, error) {
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: serverName})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}
