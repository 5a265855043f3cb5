package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Leaf returns a certificate for a simulated host. The first name is the
// subject's common name and a SAN; further names are SANs too, those that
// parse as IP addresses as IP SANs. The order of the further names does not
// matter.
//
// Certificates are cached in memory and, with a directory, persisted as
// dir/leaf-<names joined by "+">.pem (chain and key; leafFileName) and
// reused across restarts while valid and covering the same names; an
// expired one, or one for other names, is replaced. The result is shared:
// do not modify it.
func (a *Authority) Leaf(names ...string) (*tls.Certificate, error) {
	names, err := canonicalNames(names)
	if err != nil {
		return nil, err
	}
	return a.leaf(names, strings.Join(names, ","))
}

// leaf is Leaf for names already canonical; key is their cache key.
func (a *Authority) leaf(names []string, key string) (*tls.Certificate, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if c := a.leafs[key]; c != nil && validAt(c.Leaf, now) {
		return c, nil
	}
	var path string
	if a.dir != "" {
		path = filepath.Join(a.dir, leafFileName(names))
		c, err := a.loadLeaf(path, names, now)
		if err != nil {
			return nil, err
		}
		if c != nil {
			a.leafs[key] = c
			return c, nil
		}
	}
	c, data, err := a.issue(names, now)
	if err != nil {
		return nil, err
	}
	if path != "" {
		// Replacing is fine here, unlike for the CA: nobody trusts a leaf
		// directly, and the old one was expired or for other names.
		if err := writeFile(path, data, 0o600, true); err != nil {
			return nil, err
		}
	}
	a.leafs[key] = c
	return c, nil
}

// issue signs a new leaf for names, returning it and its PEM file contents.
func (a *Authority) issue(names []string, now time.Time) (*tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: generate key for %s: %w", names[0], err)
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(a.cert.NotAfter) {
		// A leaf outliving its CA would fail verification anyway; say so.
		notAfter = a.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip, err := netip.ParseAddr(n); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: sign certificate for %s: %w", names[0], err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: parse certificate for %s: %w", names[0], err)
	}
	keyPEM, err := marshalKey(key)
	if err != nil {
		return nil, nil, err
	}
	// The CA rides along in the chain so `openssl s_client -showcerts`
	// shows students the issuer; it costs a few hundred bytes.
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	data = append(data, a.certPEM...)
	data = append(data, keyPEM...)
	c := &tls.Certificate{
		Certificate: [][]byte{der, a.cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}
	return c, data, nil
}

// loadLeaf reads a persisted leaf. It returns nil, nil when there is none or
// when it no longer fits (expired, other names, another CA), so the caller
// issues a new one; a file it cannot read or parse is an error.
func (a *Authority) loadLeaf(path string, names []string, now time.Time) (*tls.Certificate, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ca: read %s: %w", path, err)
	}
	c, err := tls.X509KeyPair(data, data) // each call skips the other's blocks
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w (remove it to issue a new one)", path, err)
	}
	if c.Leaf == nil { // filled in by X509KeyPair since Go 1.23; be sure
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("ca: %s: %w (remove it to issue a new one)", path, err)
		}
	}
	_, err = c.Leaf.Verify(x509.VerifyOptions{
		Roots:       a.pool,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil || !sameNames(c.Leaf, names) {
		return nil, nil
	}
	c.Certificate = [][]byte{c.Certificate[0], a.cert.Raw}
	return &c, nil
}

func validAt(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}

// sameNames reports whether c was issued for exactly names (as
// canonicalNames returns them).
func sameNames(c *x509.Certificate, names []string) bool {
	if c.Subject.CommonName != names[0] {
		return false
	}
	have := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	have = append(have, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return false
		}
		have = append(have, addr.Unmap().String())
	}
	slices.Sort(have)
	want := slices.Sorted(slices.Values(names))
	return slices.Equal(have, want)
}

// canonicalNames checks names and puts them in one spelling, so that equal
// sets share a cache entry and a file: DNS names lower case without a
// trailing dot, IPs in netip's form, the first name kept first (it is the
// CN), the others sorted without duplicates.
func canonicalNames(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, errors.New("ca: no host name")
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		c, err := canonicalName(n)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	rest := out[1:]
	slices.Sort(rest)
	rest = slices.Compact(rest)
	rest = slices.DeleteFunc(rest, func(n string) bool { return n == out[0] })
	return out[:1+len(rest)], nil
}

// canonicalName accepts an IP address or a DNS name (RFC 1123 labels, plus
// "_" and a leading "*" label, which certificates allow). Checking here
// keeps odd input out of certificates and file names.
func canonicalName(n string) (string, error) {
	if ip, err := netip.ParseAddr(n); err == nil {
		if ip.Zone() != "" {
			return "", fmt.Errorf("ca: host name %q: an IP zone cannot be in a certificate", n)
		}
		return ip.Unmap().String(), nil
	}
	d := strings.ToLower(strings.TrimSuffix(n, "."))
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("ca: bad host name %q", n)
	}
	for i, label := range strings.Split(d, ".") {
		if i == 0 && label == "*" {
			continue
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("ca: bad host name %q", n)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("ca: bad host name %q", n)
			}
		}
	}
	return d, nil
}

// leafFileName maps canonical names to a file name that is safe on every
// platform (no ":" from IPv6, no "*"): the first name, then "+" and each
// further one, so a host's own certificate (a simulated connection's) and
// the one with the real listeners' names keep a file each. Names too long
// for a file name end in a digest of them instead. Two name sets mapping
// to one file only cost a reissue: a loaded leaf must match the names
// asked for.
func leafFileName(names []string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' || r == '+' {
			return r
		}
		return '_'
	}, strings.Join(names, "+"))
	if len(safe) > maxLeafName {
		sum := sha256.Sum256([]byte(safe))
		safe = safe[:maxLeafName-17] + "+" + hex.EncodeToString(sum[:8])
	}
	return "leaf-" + safe + ".pem"
}

// maxLeafName keeps "leaf-NAME.pem" within the 255 octets most file
// systems allow in a name.
const maxLeafName = 200
