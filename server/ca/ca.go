// Package ca is the sandbox's certificate authority.
//
// Every simulated mail host (mx.sandbox.test, smtp.relay.test,
// legacy.mail.test, mx.example.org, ...) speaks real TLS: STARTTLS (RFC 3207)
// on 25, 587 and 2525, implicit TLS (RFC 8314) on 465. For a student to see a
// handshake succeed, and fail for the right reasons, those hosts need
// certificates that a client can verify. This package makes them: one CA per
// installation, whose certificate the browser client and real clients (swaks,
// openssl, Thunderbird) are told to trust, and leaf certificates for the
// simulated names, signed by it on demand.
//
// Keys are ECDSA P-256: handshakes are cheap natively and, which matters
// more, inside the browser's wasm build of crypto/tls.
//
// Open with a directory persists the CA (ca.pem, ca-key.pem) and the leafs
// (leaf-<names>.pem), so a CA that users have imported keeps working across
// restarts. A file that exists but cannot be used is an error naming it,
// never silently replaced: replacing the CA would break every client that
// trusts it.
package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Names and lifetimes of what the authority issues.
const (
	caCommonName = "portlab sandbox CA"
	// untrustedCommonName names the CA of UntrustedServerConfig, so a
	// student reads who issued the certificate their client refused.
	untrustedCommonName = "Unknown Example CA (not the portlab sandbox CA)"
	caFile              = "ca.pem"
	caKeyFile           = "ca-key.pem"

	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// backdate tolerates clients whose clocks run a little behind ours.
	backdate = time.Hour
)

// Authority signs leaf certificates for simulated hosts. It is safe for
// concurrent use.
type Authority struct {
	dir string // "" keeps everything in memory
	now func() time.Time

	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	pool    *x509.CertPool

	commonName string // the CA's own name
	// untrusted is the CA no client trusts, made at first use.
	untrusted func() (*Authority, error)

	mu      sync.Mutex
	leafs   map[string]*tls.Certificate // by nameKey
	servers map[string]*tls.Config      // by nameKey
}

// Open loads the CA from dir, creating and persisting it on first use
// (dir/ca.pem, dir/ca-key.pem; keys are written 0600 and dir is created
// 0700). dir == "" keeps everything in memory, for tests. now is the clock
// used for validity periods and verification; nil means time.Now.
func Open(dir string, now func() time.Time) (*Authority, error) {
	if now == nil {
		now = time.Now
	}
	a := &Authority{
		dir:        dir,
		now:        now,
		commonName: caCommonName,
		leafs:      make(map[string]*tls.Certificate),
		servers:    make(map[string]*tls.Config),
	}
	var err error
	if dir == "" {
		err = a.create()
	} else {
		err = a.openDir()
	}
	if err != nil {
		return nil, err
	}
	a.finish()
	return a, nil
}

// finish sets up what follows from the CA certificate.
func (a *Authority) finish() {
	a.pool = x509.NewCertPool()
	a.pool.AddCert(a.cert)
	a.untrusted = sync.OnceValues(func() (*Authority, error) {
		u := &Authority{now: a.now, commonName: untrustedCommonName, leafs: map[string]*tls.Certificate{}, servers: map[string]*tls.Config{}}
		if err := u.create(); err != nil {
			return nil, err
		}
		u.pool = x509.NewCertPool()
		u.pool.AddCert(u.cert)
		return u, nil
	})
}

// OpenFiles loads the CA from a certificate and a key file made
// elsewhere and never writes them: a Kubernetes Secret mounted read-only,
// so that every replica presents the same CA. Leafs stay in memory; each
// replica issues its own, all signed by this CA. now is as for [Open].
func OpenFiles(certPath, keyPath string, now func() time.Time) (*Authority, error) {
	if now == nil {
		now = time.Now
	}
	a := &Authority{
		now:        now,
		commonName: caCommonName,
		leafs:      make(map[string]*tls.Certificate),
		servers:    make(map[string]*tls.Config),
	}
	if err := a.load(certPath, keyPath); err != nil {
		return nil, err
	}
	a.finish()
	return a, nil
}

// CertPEM returns the CA certificate, PEM-encoded: what /ca.pem serves and
// `portlab ca` prints.
func (a *Authority) CertPEM() []byte {
	return bytes.Clone(a.certPEM) // callers may not scribble on ours
}

// Pool returns a pool holding only the CA certificate. Each call returns a
// fresh pool, so a caller that adds to it cannot widen anyone else's trust.
func (a *Authority) Pool() *x509.CertPool {
	return a.pool.Clone()
}

// openDir loads the CA from a.dir, or creates it when neither file exists.
func (a *Authority) openDir() error {
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return fmt.Errorf("ca: create dir: %w", err)
	}
	certPath := filepath.Join(a.dir, caFile)
	keyPath := filepath.Join(a.dir, caKeyFile)
	certOK, err := exists(certPath)
	if err != nil {
		return err
	}
	keyOK, err := exists(keyPath)
	if err != nil {
		return err
	}
	switch {
	case certOK && keyOK:
		return a.load(certPath, keyPath)
	case certOK:
		// Users may trust this certificate; a new CA would not replace it
		// in their trust stores, so ask a human instead of guessing.
		return fmt.Errorf("ca: %s exists but %s is missing: restore the key, or remove %s to create a new CA", certPath, keyPath, certPath)
	case keyOK:
		return fmt.Errorf("ca: %s exists but %s is missing: restore the certificate, or remove %s to create a new CA", keyPath, certPath, keyPath)
	}
	if err := a.create(); err != nil {
		return err
	}
	keyPEM, err := marshalKey(a.key)
	if err != nil {
		return err
	}
	// The key goes first: a crash in between leaves a key without a
	// certificate, which nobody can have trusted yet.
	if err := writeFile(keyPath, keyPEM, 0o600, false); err != nil {
		return err
	}
	return writeFile(certPath, a.certPEM, 0o644, false)
}

// create makes a new CA in memory.
func (a *Authority) create() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ca: generate CA key: %w", err)
	}
	now := a.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: a.commonName, Organization: []string{"portlab"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		// MaxPathLenZero makes the 0 real: this CA signs leafs only.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("ca: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("ca: parse new CA certificate: %w", err)
	}
	a.cert, a.key = cert, key
	a.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return nil
}

// load reads an existing CA and checks that it can sign.
func (a *Authority) load(certPath, keyPath string) error {
	certData, err := os.ReadFile(certPath)
	if err != nil {
		return fmt.Errorf("ca: read %s: %w", certPath, err)
	}
	block, _ := pem.Decode(certData)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("ca: %s: no CERTIFICATE PEM block", certPath)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("ca: %s: %w", certPath, err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("ca: %s: not a CA certificate", certPath)
	}
	if now := a.now(); now.After(cert.NotAfter) {
		return fmt.Errorf("ca: %s: CA certificate expired on %s; remove %s and %s to create a new CA",
			certPath, cert.NotAfter.Format(time.DateOnly), certPath, keyPath)
	}

	keyData, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("ca: read %s: %w", keyPath, err)
	}
	key, err := parseKey(keyData)
	if err != nil {
		return fmt.Errorf("ca: %s: %w", keyPath, err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return fmt.Errorf("ca: %s does not hold the key of %s", keyPath, certPath)
	}
	a.cert, a.key = cert, key
	a.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	return nil
}

// serial returns a random positive serial number of up to 128 bits
// (RFC 5280 section 4.1.2.2 allows up to 20 octets).
func serial() *big.Int {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+).
		panic("ca: crypto/rand: " + err.Error())
	}
	return n.Add(n, big.NewInt(1)) // never zero
}

// marshalKey encodes a private key as PKCS #8 PEM.
func marshalKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("ca: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseKey decodes the first private key in PEM data: PKCS #8, or SEC 1 as
// `openssl ecparam -genkey` writes it, for a CA made by hand.
func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PRIVATE KEY PEM block")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", key)
		}
		return signer, nil
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// exists reports whether path exists; any other stat error names the file.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("ca: stat %s: %w", path, err)
	}
}

// writeFile writes data to path through a temporary file, so a crash never
// leaves a half-written file. With replace false an existing path is an
// error: the CA files are never overwritten, even by a second process
// racing this one to create them.
func writeFile(path string, data []byte, mode fs.FileMode, replace bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("ca: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed; after a Link, drops the extra name
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode) // CreateTemp made it 0600; certificates are public
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if replace {
			err = os.Rename(tmp, path)
		} else {
			err = os.Link(tmp, path) // fails if path exists, unlike Rename
		}
	}
	if err != nil {
		return fmt.Errorf("ca: write %s: %w", path, err)
	}
	return nil
}
