// Package httpapi is a client of portlab's HTTP API: it creates and
// deletes labs, reads a lab's mailbox, fetches the sandbox CA and posts a
// class student's progress. The headless runner and the browser's wasm
// share it; the request goes out through net/http natively
// (http_other.go) and through the page's fetch in the browser
// (fetch_js.go), so the wasm does without net/http.
package httpapi

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/explain"
)

// Client talks to one portlab server.
type Client struct {
	// Server is the base URL, e.g. http://127.0.0.1:8080. In the
	// browser "" means the page's own origin.
	Server string
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

func (c *Client) url(path string) string { return strings.TrimSuffix(c.Server, "/") + path }

// response is what a platform's roundTrip hands back: the status code,
// the status line ("404 Not Found") and at most limit bytes of the body.
type response struct {
	code   int
	status string
	body   []byte
}

// do sends a request (with the lab's key as a bearer token, if key is
// set) and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path, key string, body any, want int, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	resp, err := c.roundTrip(ctx, method, path, key, b, maxBody)
	if err != nil {
		return err
	}
	if resp.code != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.status, strings.TrimSpace(apiError(resp.body)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
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
	if err := c.do(ctx, "POST", "/api/labs", "", map[string]string{"profile": profile}, 201, &l); err != nil {
		return nil, err
	}
	if l.ID == "" || l.Key == "" {
		return nil, fmt.Errorf("POST /api/labs: no lab id or key in the answer")
	}
	return &l, nil
}

// DeleteLab deletes a lab.
func (c *Client) DeleteLab(ctx context.Context, l *Lab) error {
	return c.do(ctx, "DELETE", "/api/labs/"+url.PathEscape(l.ID), l.Key, nil, 204, nil)
}

// Messages reads a lab's mailbox.
func (c *Client) Messages(ctx context.Context, l *Lab) ([]scenarios.Message, error) {
	var ms []scenarios.Message
	if err := c.do(ctx, "GET", "/api/labs/"+url.PathEscape(l.ID)+"/messages", l.Key, nil, 200, &ms); err != nil {
		return nil, err
	}
	return ms, nil
}

// CA fetches the sandbox CA certificate from /ca.pem, the pool a client
// verifies the simulated hosts' certificates with.
func (c *Client) CA(ctx context.Context) (*x509.CertPool, error) {
	resp, err := c.roundTrip(ctx, "GET", "/ca.pem", "", nil, 1<<20)
	if err != nil {
		return nil, err
	}
	if resp.code != 200 {
		return nil, fmt.Errorf("GET /ca.pem: %s", resp.status)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(resp.body) {
		return nil, fmt.Errorf("GET /ca.pem: no PEM certificate in the answer")
	}
	return pool, nil
}

// Explanations fetches a reply-explanation catalog (path as the page
// names it: /explain/en.json or its hashed address), so the browser loads
// only its language's texts.
func (c *Client) Explanations(ctx context.Context, path string) (*explain.Catalog, error) {
	resp, err := c.roundTrip(ctx, "GET", path, "", nil, 1<<20)
	if err != nil {
		return nil, err
	}
	if resp.code != 200 {
		return nil, fmt.Errorf("GET %s: %s", path, resp.status)
	}
	return explain.Load(resp.body)
}

// UICatalog fetches a UI catalog file (internal/i18n/locales, served at
// /messages/HASH/LANG.json) and builds lang's catalog over the English
// one the client carries.
func (c *Client) UICatalog(ctx context.Context, path, lang string) (*i18n.Catalog, error) {
	resp, err := c.roundTrip(ctx, "GET", path, "", nil, 1<<20)
	if err != nil {
		return nil, err
	}
	if resp.code != 200 {
		return nil, fmt.Errorf("GET %s: %s", path, resp.status)
	}
	msgs, err := i18n.Parse(resp.body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return i18n.NewCatalog(lang, msgs)
}

// Text fetches a small text file the server serves to the client, such
// as a lesson file under /lessons-src/.
func (c *Client) Text(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.roundTrip(ctx, "GET", path, "", nil, 1<<20)
	if err != nil {
		return nil, err
	}
	if resp.code != 200 {
		return nil, fmt.Errorf("GET %s: %s", path, resp.status)
	}
	return resp.body, nil
}

// Progress is one progress record of a student in a class, as the
// lesson page posts it (server/classroom: POST /api/classroom/me/progress).
type Progress struct {
	Kind   string `json:"kind"` // progress, step-failed, hint, open
	Lesson string `json:"lesson"`
	Step   int    `json:"step"`
	Total  int    `json:"total"`
	State  string `json:"state,omitempty"` // new, running, passed, watched, failed
	// Steps says who did each step meant for the student, by step ID,
	// as the page keeps it.
	Steps map[string]string `json:"steps,omitempty"`
}

// ClassProgress posts a progress record with the student's class token,
// for the teacher's dashboard.
func (c *Client) ClassProgress(ctx context.Context, token string, p Progress) error {
	return c.do(ctx, "POST", "/api/classroom/me/progress", token, p, 204, nil)
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

// PolicyError is one error of a refused lab policy, at its line.
type PolicyError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// PolicyRefused is SetPolicy's error when the server finds errors in the
// text: the lab keeps the policy it had.
type PolicyRefused []PolicyError

func (p PolicyRefused) Error() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "line %d: %s", e.Line, e.Message)
	}
	return b.String()
}

type policyBody struct {
	Text string `json:"text"`
	Own  bool   `json:"own"`
}

// Policy reads the text of the policy a lab's relay follows (its own, or
// the server's) and whether it is the lab's own.
func (c *Client) Policy(ctx context.Context, l *Lab) (text string, own bool, err error) {
	var b policyBody
	err = c.do(ctx, "GET", "/api/labs/"+url.PathEscape(l.ID)+"/policy", l.Key, nil, 200, &b)
	return b.Text, b.Own, err
}

// SetPolicy gives a lab its own policy; a text with errors is refused
// with a [PolicyRefused] error.
func (c *Client) SetPolicy(ctx context.Context, l *Lab, text string) error {
	b, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return err
	}
	path := "/api/labs/" + url.PathEscape(l.ID) + "/policy"
	resp, err := c.roundTrip(ctx, "PUT", path, l.Key, b, maxBody)
	if err != nil {
		return err
	}
	switch resp.code {
	case 200:
		return nil
	case 422:
		var refused struct {
			Errors PolicyRefused `json:"errors"`
		}
		if json.Unmarshal(resp.body, &refused) == nil && len(refused.Errors) > 0 {
			return refused.Errors
		}
	}
	return fmt.Errorf("PUT %s: %s: %s", path, resp.status, strings.TrimSpace(apiError(resp.body)))
}

// ResetPolicy puts a lab back on the server's policy.
func (c *Client) ResetPolicy(ctx context.Context, l *Lab) error {
	return c.do(ctx, "DELETE", "/api/labs/"+url.PathEscape(l.ID)+"/policy", l.Key, nil, 200, nil)
}

// LabPolicy is one lab's policy, for the scenario engine.
type LabPolicy struct {
	Client *Client
	Lab    *Lab
}

var _ scenarios.LabPolicy = LabPolicy{}

// Policy reads the text the lab follows now.
func (p LabPolicy) Policy(ctx context.Context) (string, error) {
	text, _, err := p.Client.Policy(ctx, p.Lab)
	return text, err
}

// SetPolicy gives the lab its own policy.
func (p LabPolicy) SetPolicy(ctx context.Context, text string) error {
	return p.Client.SetPolicy(ctx, p.Lab, text)
}

// ResetPolicy puts the lab back on the server's policy.
func (p LabPolicy) ResetPolicy(ctx context.Context) error { return p.Client.ResetPolicy(ctx, p.Lab) }
