// Package enginetls secures connections to a Docker engine that speaks TLS, with the
// certificates of DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) as the docker CLI reads
// them. Importing it sets engine.TLS: kgit's binary does, the tender does not link
// crypto/tls for it.
package enginetls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"kgit.dev/kgit/backend/docker/engine"
)

func init() { engine.TLS = secure }

// secure runs TLS's handshake on conn: with the client certificate of certPath when it
// has one; the engine's certificate checked against its ca.pem when verify is set.
func secure(conn net.Conn, serverName, certPath string, verify bool) (net.Conn, error) {
	cfg := &tls.Config{ServerName: serverName, InsecureSkipVerify: !verify, MinVersion: tls.VersionTLS12}
	if pem, err := os.ReadFile(filepath.Join(certPath, "ca.pem")); err == nil {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			conn.Close()
			return nil, fmt.Errorf("%s: no certificate in it", filepath.Join(certPath, "ca.pem"))
		}
	} else if verify && !os.IsNotExist(err) {
		conn.Close()
		return nil, err
	}
	cert, key := filepath.Join(certPath, "cert.pem"), filepath.Join(certPath, "key.pem")
	if _, err := os.Stat(cert); err == nil {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("the engine's client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}
