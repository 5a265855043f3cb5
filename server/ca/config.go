package ca

import (
	"crypto/tls"
	"strings"
)

// ServerConfig returns a TLS configuration for a server playing host, with a
// certificate from Leaf(host, extra...). It allows TLS 1.2 and 1.3 only, the
// versions mail servers of today speak (docs/teaching-map.md L7).
//
// Configs are cached per set of names, so calling this for every connection
// is cheap, and connections share session-ticket keys, so resumption works.
// The result is shared: Clone it before changing anything.
func (a *Authority) ServerConfig(host string, extra ...string) (*tls.Config, error) {
	names, err := canonicalNames(append([]string{host}, extra...))
	if err != nil {
		return nil, err
	}
	key := strings.Join(names, ",")
	a.mu.Lock()
	cfg := a.servers[key]
	a.mu.Unlock()
	if cfg != nil {
		return cfg, nil
	}
	// Issue now, so that a bad directory fails here rather than in the
	// first handshake.
	if _, err := a.leaf(names, key); err != nil {
		return nil, err
	}
	cfg = &tls.Config{
		MinVersion: tls.VersionTLS12,
		MaxVersion: tls.VersionTLS13,
		// Asked per handshake rather than fixed in Certificates, so a
		// server that runs past its leaf's expiry gets a new one.
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return a.leaf(names, key)
		},
		Time: a.now,
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.servers[key]; c != nil {
		return c, nil // another caller won the race; share its ticket keys
	}
	a.servers[key] = cfg
	return cfg, nil
}

// UntrustedServerConfig is ServerConfig for a server whose certificate for
// host is signed by another CA, made in memory at first use and trusted by
// no one: not by Pool, ClientConfig or the browser client. It plays a
// server with a self-made certificate (docs/teaching-map.md L26), which a
// client that verifies refuses (RFC 5280 §6: no path to a trust anchor).
func (a *Authority) UntrustedServerConfig(host string) (*tls.Config, error) {
	u, err := a.untrusted()
	if err != nil {
		return nil, err
	}
	return u.ServerConfig(host)
}

// ClientConfig returns a TLS configuration for a client of host that trusts
// only the CA: ServerName is host (a WebSocket tunnel has no address to take
// it from), TLS 1.2 at least. Each call returns a new config, which the
// caller may change.
func (a *Authority) ClientConfig(host string) *tls.Config {
	return &tls.Config{
		RootCAs:    a.Pool(),
		ServerName: host,
		MinVersion: tls.VersionTLS12,
		Time:       a.now,
	}
}
