package e2e_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/portlab/portlab/web"
)

// fakeWorld is a hermetic stand-in for `portlab serve` behind the pages: a
// gateway speaking portlab.tcp.v1, a tiny labs API and an SMTP server that
// answers like the sandbox's relay at the moments the browser tests look
// at. It lets the browser path (wasm, tunnel, TLS in the tab, AUTH, DATA)
// be tested without the real server; the real one is tested by the tests
// that call startPortlab.
type fakeWorld struct {
	t     testing.TB
	caPEM []byte
	certs map[string]*tls.Certificate

	mu   sync.Mutex
	msgs []map[string]any
	raw  map[string]string
	subs []chan struct{}
}

func startFakeWorld(t testing.TB) string {
	t.Helper()
	w := &fakeWorld{t: t, certs: map[string]*tls.Certificate{}, raw: map[string]string{}}
	w.makeCA()
	pages := web.New(web.Config{
		CAPEM:    w.caPEM,
		Profiles: []web.Profile{{Name: "home-isp", Title: "Home ISP"}, {Name: "datacenter", Title: "Data center"}},
		Hosts: []web.Host{
			{Name: "smtp.relay.test", Doors: []web.Door{{Port: 587, Service: "submission"}, {Port: 2525, Service: "submission"}}},
			{Name: "mx.sandbox.test", Doors: []web.Door{{Port: 25, Service: "SMTP"}}},
			{Name: "legacy.mail.test", Doors: []web.Door{{Port: 465, Service: "SMTPS"}, {Port: 25, Service: "SMTP"}}},
		},
		Version: "fake-world",
	})
	mux := http.NewServeMux()
	mux.Handle("/", pages)
	mux.HandleFunc("GET /ws/dial", w.dial)
	lab := map[string]any{"id": "lab1", "user": "lab1user", "password": "lab1pass", "profile": "home-isp", "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)}
	writeJSON := func(rw http.ResponseWriter, status int, v any) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		json.NewEncoder(rw).Encode(v)
	}
	mux.HandleFunc("POST /api/labs", func(rw http.ResponseWriter, r *http.Request) { writeJSON(rw, 201, lab) })
	mux.HandleFunc("GET /api/labs/lab1", func(rw http.ResponseWriter, r *http.Request) { writeJSON(rw, 200, lab) })
	mux.HandleFunc("PATCH /api/labs/lab1", func(rw http.ResponseWriter, r *http.Request) { writeJSON(rw, 200, lab) })
	mux.HandleFunc("GET /api/labs/lab1/messages", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		writeJSON(rw, 200, append([]map[string]any{}, w.msgs...))
	})
	mux.HandleFunc("GET /api/labs/lab1/messages/{id}/raw", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(rw, w.raw[r.PathValue("id")])
	})
	mux.HandleFunc("GET /api/labs/lab1/events", w.events)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (w *fakeWorld) makeCA() {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake portlab CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		w.t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(der)
	w.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for i, host := range []string{"smtp.relay.test", "legacy.mail.test", "mx.sandbox.test"} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		leaf := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: host},
			DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
		d, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
		if err != nil {
			w.t.Fatal(err)
		}
		w.certs[host] = &tls.Certificate{Certificate: [][]byte{d}, PrivateKey: key}
	}
}

// dial is the gateway: home-isp refuses 25; other doors get the fake MTA.
func (w *fakeWorld) dial(rw http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(rw, r, &websocket.AcceptOptions{Subprotocols: []string{"portlab.tcp.v1"}})
	if err != nil {
		return
	}
	q := r.URL.Query()
	host, port, profile := q.Get("host"), q.Get("port"), q.Get("profile")
	if port == "25" && profile == "home-isp" {
		ws.Close(4001, "Connection refused")
		return
	}
	cert := w.certs[host]
	if cert == nil {
		ws.Close(4003, "unknown host")
		return
	}
	ctx := r.Context()
	var portN int
	fmt.Sscan(port, &portN)
	info, _ := json.Marshal(map[string]any{"type": "connected", "host": host, "port": portN, "profile": profile})
	if err := ws.Write(ctx, websocket.MessageText, info); err != nil {
		return
	}
	nc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	client, server := net.Pipe()
	go w.mta(server, host, port, cert)
	go func() { io.Copy(client, nc); client.Close() }()
	io.Copy(nc, client)
	ws.Close(websocket.StatusNormalClosure, "")
}

func (w *fakeWorld) events(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.WriteHeader(200)
	rw.(http.Flusher).Flush()
	ch := make(chan struct{}, 4)
	w.mu.Lock()
	w.subs = append(w.subs, ch)
	w.mu.Unlock()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ch:
			fmt.Fprintf(rw, "data: {\"kind\":\"message\"}\n\n")
			rw.(http.Flusher).Flush()
		}
	}
}

// mta answers like the sandbox's doors: implicit TLS on 465, STARTTLS
// before AUTH elsewhere, foo/barbaz accepted.
func (w *fakeWorld) mta(c net.Conn, host, port string, cert *tls.Certificate) {
	defer c.Close()
	secure := false
	if port == "465" {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}})
		if tc.Handshake() != nil {
			return
		}
		c, secure = tc, true
	}
	rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	say := func(s string) { rw.WriteString(s + "\r\n"); rw.Flush() }
	say("220 " + host + " ESMTP portlab (fake)")
	authed := ""
	var from string
	var to []string
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimSpace(line)
		up := strings.ToUpper(cmd)
		switch {
		case strings.HasPrefix(up, "EHLO"):
			if secure {
				say("250-" + host + "\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN")
			} else {
				say("250-" + host + "\r\n250-PIPELINING\r\n250 STARTTLS")
			}
		case up == "STARTTLS" && !secure:
			say("220 2.0.0 Ready to start TLS")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}})
			if tc.Handshake() != nil {
				return
			}
			c, secure = tc, true
			rw = bufio.NewReadWriter(bufio.NewReader(tc), bufio.NewWriter(tc))
		case strings.HasPrefix(up, "AUTH") && !secure:
			say("530 5.7.0 Must issue a STARTTLS command first")
		case strings.HasPrefix(up, "AUTH PLAIN "):
			if cmd[len("AUTH PLAIN "):] == "AGZvbwBiYXJiYXo=" {
				authed = "foo"
				say("235 2.7.0 Authentication successful")
			} else {
				say("535 5.7.8 Error: authentication failed")
			}
		case strings.HasPrefix(up, "MAIL FROM:"):
			from, to = strings.Trim(cmd[10:], "<> "), nil
			say("250 2.1.0 Ok")
		case strings.HasPrefix(up, "RCPT TO:"):
			to = append(to, strings.Trim(cmd[8:], "<> "))
			say("250 2.1.5 Ok")
		case up == "DATA":
			say("354 End data with <CR><LF>.<CR><LF>")
			var body strings.Builder
			for {
				l, err := rw.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				body.WriteString(strings.TrimPrefix(l, "."))
			}
			w.store(from, to, body.String(), host, port, secure, authed)
			say("250 2.0.0 Ok: queued as F1")
		case up == "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("500 5.5.2 Error: command not recognized")
		}
	}
}

func (w *fakeWorld) store(from string, to []string, raw, host, port string, secure bool, auth string) {
	subject := ""
	for _, l := range strings.Split(raw, "\r\n") {
		if s, ok := strings.CutPrefix(l, "Subject: "); ok {
			subject = s
			break
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	id := fmt.Sprintf("m%d", len(w.msgs)+1)
	var p int
	fmt.Sscan(port, &p)
	w.msgs = append(w.msgs, map[string]any{"id": id, "from": from, "to": to, "subject": subject, "size": len(raw),
		"port": p, "host": host, "tls": secure, "tls_version": "TLS 1.3", "auth_user": auth,
		"received_at": time.Now().Format(time.RFC3339), "headers": map[string]string{"Subject": subject}})
	w.raw[id] = raw
	for _, ch := range w.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
