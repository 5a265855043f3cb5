//go:build !(js && wasm)

package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// client bounds each request natively; in the browser the page's fetch
// has its own limits.
var client = &http.Client{Timeout: 30 * time.Second}

// roundTrip sends one request with net/http. A JSON body sets the
// Content-Type; a key goes as a bearer token.
func (c *Client) roundTrip(ctx context.Context, method, path, key string, body []byte, limit int64) (*response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, err
	}
	return &response{code: resp.StatusCode, status: resp.Status, body: data}, nil
}
