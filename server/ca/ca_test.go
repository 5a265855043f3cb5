package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injectable clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func open(t testing.TB, dir string, now func() time.Time) *Authority {
	t.Helper()
	a, err := Open(dir, now)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	return a
}

func leaf(t testing.TB, a *Authority, names ...string) *x509.Certificate {
	t.Helper()
	c, err := a.Leaf(names...)
	if err != nil {
		t.Fatalf("Leaf(%q): %v", names, err)
	}
	if c.Leaf == nil {
		t.Fatalf("Leaf(%q): tls.Certificate.Leaf is nil", names)
	}
	return c.Leaf
}

func verify(a *Authority, c *x509.Certificate, name string, now time.Time) error {
	_, err := c.Verify(x509.VerifyOptions{
		Roots:       a.Pool(),
		DNSName:     name,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

func TestCACertificate(t *testing.T) {
	clk := newClock()
	a := open(t, "", clk.Now)
	ca := a.cert
	if ca.Subject.CommonName != "portlab sandbox CA" {
		t.Errorf("CN = %q", ca.Subject.CommonName)
	}
	if !ca.IsCA || !ca.BasicConstraintsValid || ca.MaxPathLen != 0 || !ca.MaxPathLenZero {
		t.Errorf("IsCA=%v BasicConstraintsValid=%v MaxPathLen=%d MaxPathLenZero=%v, want a CA limited to leafs",
			ca.IsCA, ca.BasicConstraintsValid, ca.MaxPathLen, ca.MaxPathLenZero)
	}
	if ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("KeyUsage = %v, want CertSign", ca.KeyUsage)
	}
	if k, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", ca.PublicKey)
	}
	now := clk.Now()
	if want := now.Add(-time.Hour); !ca.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", ca.NotBefore, want)
	}
	if want := now.Add(10 * 365 * 24 * time.Hour); !ca.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", ca.NotAfter, want)
	}
	if n := ca.SerialNumber.BitLen(); n < 64 || n > 129 {
		t.Errorf("serial has %d bits, want a random 128-bit one", n)
	}

	p, err := x509.ParseCertificate(pemBlock(t, a.CertPEM()))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Equal(ca) {
		t.Error("CertPEM does not hold the CA certificate")
	}
}

func pemBlock(t *testing.T, data []byte) []byte {
	t.Helper()
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("want exactly one CERTIFICATE PEM block, got %q", data)
	}
	return block.Bytes
}

func TestLeafVerifiesForItsNameOnly(t *testing.T) {
	clk := newClock()
	a := open(t, "", clk.Now)
	c := leaf(t, a, "mx.sandbox.test")
	if err := verify(a, c, "mx.sandbox.test", clk.Now()); err != nil {
		t.Errorf("verify for mx.sandbox.test: %v", err)
	}
	err := verify(a, c, "smtp.relay.test", clk.Now())
	var herr x509.HostnameError
	if !errors.As(err, &herr) {
		t.Errorf("verify for smtp.relay.test: err = %v, want a HostnameError", err)
	}

	other := open(t, "", clk.Now)
	if err := verify(other, c, "mx.sandbox.test", clk.Now()); err == nil {
		t.Error("leaf verified against another authority's pool")
	}

	if c.Subject.CommonName != "mx.sandbox.test" {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || c.IsCA {
		t.Errorf("ExtKeyUsage = %v, IsCA = %v; want a server-auth leaf", c.ExtKeyUsage, c.IsCA)
	}
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if want := clk.Now().Add(-time.Hour); !c.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", c.NotBefore, want)
	}
	if want := clk.Now().Add(365 * 24 * time.Hour); !c.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
	}
}

func TestLeafExtraNamesAndIPs(t *testing.T) {
	clk := newClock()
	a := open(t, "", clk.Now)
	c := leaf(t, a, "MX.Sandbox.Test.", "localhost", "127.0.0.1", "::1", "localhost")
	if c.Subject.CommonName != "mx.sandbox.test" {
		t.Errorf("CN = %q, want the first name in lower case", c.Subject.CommonName)
	}
	if want := []string{"mx.sandbox.test", "localhost"}; !slices.Equal(c.DNSNames, want) {
		t.Errorf("DNSNames = %q, want %q", c.DNSNames, want)
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"127.0.0.1", "::1"}; !slices.Equal(ips, want) {
		t.Errorf("IPAddresses = %q, want %q", ips, want)
	}
	for _, name := range []string{"mx.sandbox.test", "localhost", "127.0.0.1", "::1"} {
		if err := verify(a, c, name, clk.Now()); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if err := verify(a, c, "127.0.0.2", clk.Now()); err == nil {
		t.Error("verified for 127.0.0.2")
	}
}

func TestLeafCached(t *testing.T) {
	a := open(t, "", nil)
	c1, err := a.Leaf("smtp.relay.test", "a.test", "b.test")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := a.Leaf("SMTP.relay.test", "b.test", "a.test", "smtp.relay.test")
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Error("the same names in another order or case gave a second certificate")
	}
	c3, err := a.Leaf("smtp.relay.test")
	if err != nil {
		t.Fatal(err)
	}
	if c3 == c1 {
		t.Error("different names gave the same certificate")
	}
}

func TestLeafRejectsBadNames(t *testing.T) {
	a := open(t, "", nil)
	for _, names := range [][]string{
		{},
		{""},
		{"."},
		{"../ca-key"},
		{"mx.sandbox.test/../x"},
		{"a b.test"},
		{"-bad.test"},
		{"mx..test"},
		{"fe80::1%eth0"},
		{"mx.sandbox.test", "bad name"},
	} {
		if _, err := a.Leaf(names...); err == nil {
			t.Errorf("Leaf(%q) succeeded", names)
		}
	}
	// Wildcards and underscores are fine in certificates.
	for _, n := range []string{"*.sandbox.test", "_dmarc.sandbox.test", "localhost"} {
		if _, err := a.Leaf(n); err != nil {
			t.Errorf("Leaf(%q): %v", n, err)
		}
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	a1 := open(t, dir, nil)
	l1 := leaf(t, a1, "mx.sandbox.test")

	a2 := open(t, dir, nil)
	if !bytes.Equal(a1.CertPEM(), a2.CertPEM()) {
		t.Error("second Open made a new CA")
	}
	l2 := leaf(t, a2, "mx.sandbox.test")
	if l1.SerialNumber.Cmp(l2.SerialNumber) != 0 {
		t.Errorf("second Open issued a new leaf: serial %x, want %x", l2.SerialNumber, l1.SerialNumber)
	}
	if err := verify(a2, l2, "mx.sandbox.test", time.Now()); err != nil {
		t.Errorf("reloaded leaf: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "leaf-mx.sandbox.test.pem")); err != nil {
		t.Error(err)
	}
}

func TestPersistedLeafForOtherNamesIsReplaced(t *testing.T) {
	dir := t.TempDir()
	l1 := leaf(t, open(t, dir, nil), "mx.sandbox.test")
	l2 := leaf(t, open(t, dir, nil), "mx.sandbox.test", "localhost")
	if l1.SerialNumber.Cmp(l2.SerialNumber) == 0 {
		t.Fatal("a leaf for other names was reused")
	}
	if !slices.Contains(l2.DNSNames, "localhost") {
		t.Errorf("DNSNames = %q, want localhost among them", l2.DNSNames)
	}
	l3 := leaf(t, open(t, dir, nil), "mx.sandbox.test", "localhost")
	if l3.SerialNumber.Cmp(l2.SerialNumber) != 0 {
		t.Error("the replacement leaf was not persisted")
	}
}

// A host's own certificate (what a simulated connection sees) and its
// certificate with the real listeners' names are kept in a file each, so
// a restart reuses both rather than reissuing one of them every time.
func TestPersistedLeavesPerNameSet(t *testing.T) {
	dir := t.TempDir()
	a1 := open(t, dir, nil)
	own := leaf(t, a1, "mx.sandbox.test")
	real := leaf(t, a1, "mx.sandbox.test", "localhost", "127.0.0.1")
	a2 := open(t, dir, nil)
	if l := leaf(t, a2, "mx.sandbox.test"); l.SerialNumber.Cmp(own.SerialNumber) != 0 {
		t.Error("the host's own leaf was issued again after a restart")
	}
	if l := leaf(t, a2, "mx.sandbox.test", "localhost", "127.0.0.1"); l.SerialNumber.Cmp(real.SerialNumber) != 0 {
		t.Error("the real listeners' leaf was issued again after a restart")
	}
	for _, f := range []string{"leaf-mx.sandbox.test.pem", "leaf-mx.sandbox.test+127.0.0.1+localhost.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + ".test"
	if f := leafFileName([]string{long, "x." + long, "y." + long}); len(f) > 255 {
		t.Errorf("file name of %d octets: %s", len(f), f)
	}
}

func TestPersistedLeafFromAnotherCAIsReplaced(t *testing.T) {
	dir, otherDir := t.TempDir(), t.TempDir()
	a := open(t, dir, nil)
	old := leaf(t, open(t, otherDir, nil), "mx.sandbox.test")
	data, err := os.ReadFile(filepath.Join(otherDir, "leaf-mx.sandbox.test.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "leaf-mx.sandbox.test.pem"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	l := leaf(t, a, "mx.sandbox.test")
	if l.SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Fatal("a leaf signed by another CA was loaded")
	}
	if err := verify(a, l, "mx.sandbox.test", time.Now()); err != nil {
		t.Error(err)
	}
}

func TestExpiredCAIsAnError(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	a := open(t, dir, clk.Now)
	clk.Set(a.cert.NotAfter.Add(time.Second))
	_, err := Open(dir, clk.Now)
	if want := filepath.Join(dir, "ca.pem"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open with an expired CA: err = %v, want an error naming %s", err, want)
	}
}

func TestExpiredLeafIsReplaced(t *testing.T) {
	t.Run("in memory", func(t *testing.T) {
		clk := newClock()
		a := open(t, "", clk.Now)
		l1 := leaf(t, a, "legacy.mail.test")
		clk.Set(l1.NotAfter.Add(time.Second))
		l2 := leaf(t, a, "legacy.mail.test")
		if l1.SerialNumber.Cmp(l2.SerialNumber) == 0 {
			t.Fatal("expired leaf was returned")
		}
		if err := verify(a, l2, "legacy.mail.test", clk.Now()); err != nil {
			t.Errorf("new leaf: %v", err)
		}
	})
	t.Run("on disk", func(t *testing.T) {
		dir := t.TempDir()
		clk := newClock()
		l1 := leaf(t, open(t, dir, clk.Now), "legacy.mail.test")
		clk.Set(l1.NotAfter.Add(time.Second))
		a := open(t, dir, clk.Now)
		l2 := leaf(t, a, "legacy.mail.test")
		if l1.SerialNumber.Cmp(l2.SerialNumber) == 0 {
			t.Fatal("expired leaf was loaded from disk")
		}
		if err := verify(a, l2, "legacy.mail.test", clk.Now()); err != nil {
			t.Errorf("new leaf: %v", err)
		}
		l3 := leaf(t, open(t, dir, clk.Now), "legacy.mail.test")
		if l3.SerialNumber.Cmp(l2.SerialNumber) != 0 {
			t.Error("the replacement leaf was not persisted")
		}
	})
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	a := open(t, dir, nil)
	leaf(t, a, "mx.sandbox.test")
	for name, want := range map[string]fs.FileMode{
		".":                        fs.ModeDir | 0o700,
		"ca-key.pem":               0o600,
		"leaf-mx.sandbox.test.pem": 0o600,
		"ca.pem":                   0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
	// No temporary files left behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

// TestBadFilesAreErrors checks that a CA that cannot be used is reported by
// file name and left alone: users may trust it.
func TestBadFilesAreErrors(t *testing.T) {
	otherKey, err := marshalKey(open(t, "", nil).key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		file  string // named in the error
		spoil func(dir string) error
	}{
		{"corrupt ca.pem", "ca.pem", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not a certificate\n"), 0o644)
		}},
		{"truncated ca.pem", "ca.pem", func(dir string) error {
			p := filepath.Join(dir, "ca.pem")
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, data[:len(data)/2], 0o644)
		}},
		{"corrupt ca-key.pem", "ca-key.pem", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "ca-key.pem"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
		}},
		{"key of another CA", "ca-key.pem", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "ca-key.pem"), otherKey, 0o600)
		}},
		{"missing ca-key.pem", "ca-key.pem", func(dir string) error {
			return os.Remove(filepath.Join(dir, "ca-key.pem"))
		}},
		{"missing ca.pem", "ca.pem", func(dir string) error {
			return os.Remove(filepath.Join(dir, "ca.pem"))
		}},
		{"unreadable ca.pem", "ca.pem", func(dir string) error {
			// A directory in its place: unreadable even for root.
			p := filepath.Join(dir, "ca.pem")
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Mkdir(p, 0o700)
		}},
		{"corrupt leaf", "leaf-mx.sandbox.test.pem", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "leaf-mx.sandbox.test.pem"), []byte("garbage"), 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			open(t, dir, nil)
			if err := tc.spoil(dir); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			a, err := Open(dir, nil)
			if err == nil {
				_, err = a.Leaf("mx.sandbox.test")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if want := filepath.Join(dir, tc.file); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("files changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// snapshot returns the regular files in dir and their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(data)
	}
	return m
}

func TestPoolIsACopy(t *testing.T) {
	a := open(t, "", nil)
	p := a.Pool()
	p.AddCert(open(t, "", nil).cert)
	if a.Pool().Equal(p) {
		t.Error("adding to Pool()'s result changed the authority's pool")
	}
	if !a.Pool().Equal(a.ClientConfig("x.test").RootCAs) {
		t.Error("ClientConfig trusts something other than the CA")
	}
}

func TestConcurrentUse(t *testing.T) {
	a := open(t, t.TempDir(), nil)
	hosts := []string{"mx.sandbox.test", "smtp.relay.test", "legacy.mail.test", "mx.example.org"}
	var wg sync.WaitGroup
	certs := make([][]any, 8)
	for g := range certs {
		wg.Go(func() {
			for _, h := range hosts {
				c, err := a.Leaf(h)
				if err != nil {
					t.Error(err)
					return
				}
				cfg, err := a.ServerConfig(h)
				if err != nil {
					t.Error(err)
					return
				}
				certs[g] = append(certs[g], c, cfg)
			}
		})
	}
	wg.Wait()
	for g := 1; g < len(certs); g++ {
		if !slices.Equal(certs[g], certs[0]) {
			t.Errorf("goroutine %d got other certificates or configs than goroutine 0", g)
		}
	}
}

// TestOpenFiles: a CA read from a read-only pair of files (a mounted
// Secret) is that CA, signs leafs a client trusting it accepts, and
// writes nothing beside the files.
func TestOpenFiles(t *testing.T) {
	dir := t.TempDir()
	made := open(t, dir, nil)
	before := snapshot(t, dir)
	a, err := OpenFiles(filepath.Join(dir, caFile), filepath.Join(dir, caKeyFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.CertPEM(), made.CertPEM()) {
		t.Fatal("OpenFiles presents another CA than the files hold")
	}
	l := leaf(t, a, "mx.sandbox.test")
	if err := verify(made, l, "mx.sandbox.test", time.Now()); err != nil {
		t.Errorf("leaf of the loaded CA: %v", err)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("OpenFiles wrote into the CA's directory: %v", after)
	}
	if _, err := OpenFiles(filepath.Join(dir, caFile), filepath.Join(dir, "missing.pem"), nil); err == nil {
		t.Error("a missing key file was not an error")
	}
}
