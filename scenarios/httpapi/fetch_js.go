//go:build js && wasm

package httpapi

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"syscall/js"

	"github.com/portlab/portlab/scenarios/jspromise"
)

// roundTrip sends one request with the page's fetch, so the browser's
// wasm does without net/http (~130 KB brotli). A JSON body sets the
// Content-Type; a key goes as a bearer token; ctx aborts the request.
func (c *Client) roundTrip(ctx context.Context, method, path, key string, body []byte, limit int64) (*response, error) {
	headers := map[string]any{}
	init := map[string]any{"method": method, "headers": headers}
	if body != nil {
		headers["Content-Type"] = "application/json"
		init["body"] = string(body) // JSON is UTF-8 text
	}
	if key != "" {
		headers["Authorization"] = "Bearer " + key
	}
	abort := js.Global().Get("AbortController").New()
	init["signal"] = abort.Get("signal")
	defer context.AfterFunc(ctx, func() { abort.Call("abort") })()

	resp, err := jspromise.Await(js.Global().Call("fetch", c.url(path), init))
	if err != nil {
		return nil, c.failed(ctx, method, path, err)
	}
	buf, err := jspromise.Await(resp.Call("arrayBuffer"))
	if err != nil {
		return nil, c.failed(ctx, method, path, err)
	}
	arr := js.Global().Get("Uint8Array").New(buf)
	if n := int64(arr.Get("length").Int()); n > limit {
		arr = arr.Call("subarray", 0, limit)
	}
	data := make([]byte, arr.Get("length").Int())
	js.CopyBytesToGo(data, arr)
	code := resp.Get("status").Int()
	status := strings.TrimSpace(strconv.Itoa(code) + " " + resp.Get("statusText").String())
	return &response{code: code, status: status, body: data}, nil
}

// failed reports a rejected fetch as net/http would: the context's error
// when it was cancelled, else the browser's reason.
func (c *Client) failed(ctx context.Context, method, path string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New(method + " " + c.url(path) + ": " + err.Error())
}
