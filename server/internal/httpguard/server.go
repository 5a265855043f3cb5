package httpguard

import (
	"log"
	"net/http"
	"time"
)

// The time-outs of one HTTP request (net/http's phases). Event streams
// and WebSocket tunnels outlive them and lift them on their own
// connection (http.ResponseController).
const (
	// ReadHeaderTimeout: a client has this long to send its headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout: and this long for the whole request; the API's bodies
	// are a few hundred bytes.
	ReadTimeout = 30 * time.Second
	// WriteTimeout: the longest answer is the wasm client, a few MB;
	// two minutes is about 25 kB/s.
	WriteTimeout = 2 * time.Minute
	// IdleTimeout: a keep-alive connection with no request is closed.
	IdleTimeout = time.Minute
	// MaxHeaderBytes: no page or API call needs more.
	MaxHeaderBytes = 32 << 10
)

// Timeouts are an HTTP server's time-outs; tests shorten them.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// DefaultTimeouts are the sandbox's.
var DefaultTimeouts = Timeouts{ReadHeader: ReadHeaderTimeout, Read: ReadTimeout, Write: WriteTimeout, Idle: IdleTimeout}

// NewServer is an http.Server for h with time-outs t and MaxHeaderBytes.
func NewServer(h http.Handler, t Timeouts, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}
