// Package httpapi is a client of portlab's HTTP API for the headless
// runner: it creates and deletes labs, reads a lab's mailbox and fetches
// the sandbox CA. It imports net/http, so the browser's wasm must not
// import it (the browser reads the same API through the page).
package httpapi

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portlab/portlab/scenarios"
)

// Client talks to one portlab server.
type Client struct {
	// Server is the base URL, e.g. http://127.0.0.1:8080.
	Server string
	// HTTP is the client to use; nil means one with a 30s timeout.
	HTTP *http.Client
}

// maxBody bounds what the client reads from one response.
const maxBody = 16 << 20

// Lab is a lab as POST /api/labs returns it. Key is the lab's secret,
// sent with every later request for the lab; keep it out of logs.
type Lab struct {
	ID        string    `json:"id"`
	Key       string    `json:"key"`
	User      string    `json:"user"`
	Password  string    `json:"password"`
	Profile   string    `json:"profile"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *Client) url(path string) string { return strings.TrimSuffix(c.Server, "/") + path }

// do sends a request (with the lab's key as a bearer token, if key is
// set) and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path, key string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(apiError(data)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: bad JSON: %w", method, path, err)
	}
	return nil
}

// apiError extracts {"error": "..."} if the body is one.
func apiError(data []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return e.Error
	}
	if len(data) > 200 {
		data = data[:200]
	}
	return string(data)
}

// CreateLab creates a lab under a network profile ("" for the default).
func (c *Client) CreateLab(ctx context.Context, profile string) (*Lab, error) {
	var l Lab
	if err := c.do(ctx, http.MethodPost, "/api/labs", "", map[string]string{"profile": profile}, http.StatusCreated, &l); err != nil {
		return nil, err
	}
	if l.ID == "" || l.Key == "" {
		return nil, fmt.Errorf("POST /api/labs: no lab id or key in the answer")
	}
	return &l, nil
}

// DeleteLab deletes a lab.
func (c *Client) DeleteLab(ctx context.Context, l *Lab) error {
	return c.do(ctx, http.MethodDelete, "/api/labs/"+url.PathEscape(l.ID), l.Key, nil, http.StatusNoContent, nil)
}

// Messages reads a lab's mailbox.
func (c *Client) Messages(ctx context.Context, l *Lab) ([]scenarios.Message, error) {
	var ms []scenarios.Message
	if err := c.do(ctx, http.MethodGet, "/api/labs/"+url.PathEscape(l.ID)+"/messages", l.Key, nil, http.StatusOK, &ms); err != nil {
		return nil, err
	}
	return ms, nil
}

// CA fetches the sandbox CA certificate from /ca.pem, the pool a client
// verifies the simulated hosts' certificates with.
func (c *Client) CA(ctx context.Context) (*x509.CertPool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/ca.pem"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /ca.pem: %s", resp.Status)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("GET /ca.pem: no PEM certificate in the answer")
	}
	return pool, nil
}

// Mailbox is one lab's mailbox, for the scenario engine.
type Mailbox struct {
	Client *Client
	Lab    *Lab
}

var _ scenarios.Mailbox = Mailbox{}

// Messages reads the lab's mailbox.
func (m Mailbox) Messages(ctx context.Context) ([]scenarios.Message, error) {
	return m.Client.Messages(ctx, m.Lab)
}
