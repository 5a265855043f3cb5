package tunnel

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestTargetURL(t *testing.T) {
	tests := []struct {
		target Target
		want   string
	}{
		{Target{Server: "http://127.0.0.1:8080", Host: "smtp.relay.test", Port: 587},
			"ws://127.0.0.1:8080/ws/dial?host=smtp.relay.test&port=587"},
		{Target{Server: "https://portlab.example/", Lab: "abc", Profile: "home-isp", Host: "mx.sandbox.test", Port: 25},
			"wss://portlab.example/ws/dial?host=mx.sandbox.test&lab=abc&port=25&profile=home-isp"},
		{Target{Server: "wss://school.example/portlab", Host: "legacy.mail.test", Port: 465},
			"wss://school.example/portlab/ws/dial?host=legacy.mail.test&port=465"},
		{Target{Server: "ws://h:1/x/?q=1#f", Host: "a b", Port: 1},
			"ws://h:1/x/ws/dial?host=a+b&port=1"},
	}
	for _, tt := range tests {
		got, err := tt.target.URL()
		if err != nil {
			t.Errorf("%+v: %v", tt.target, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%+v:\n got %s\nwant %s", tt.target, got, tt.want)
		}
	}
}

func TestTargetURLErrors(t *testing.T) {
	tests := []struct {
		target   Target
		badReq   bool
		contains string
	}{
		{Target{Server: "http://h", Port: 25}, true, "missing host"},
		{Target{Server: "http://h", Host: "x", Port: 0}, true, "port 0"},
		{Target{Server: "http://h", Host: "x", Port: 65536}, true, "port 65536"},
		{Target{Server: "ftp://h", Host: "x", Port: 25}, false, "scheme"},
		{Target{Server: "", Host: "x", Port: 25}, false, "scheme"},
		{Target{Server: "http://", Host: "x", Port: 25}, false, "no host"},
	}
	for _, tt := range tests {
		_, err := tt.target.URL()
		if err == nil {
			t.Errorf("%+v: no error", tt.target)
			continue
		}
		var ce *CloseError
		if got := errors.As(err, &ce) && ce.Code == CodeBadRequest; got != tt.badReq {
			t.Errorf("%+v: bad request = %v, want %v (%v)", tt.target, got, tt.badReq, err)
		}
		if !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("%+v: error %q does not mention %q", tt.target, err, tt.contains)
		}
	}
}

func TestTargetFromQuery(t *testing.T) {
	in := Target{Server: "http://h", Lab: "l1", Profile: "cloud-vm", Host: "smtp.relay.test", Port: 2525, Lang: "pt-BR"}
	u, err := in.URL()
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	got, err := TargetFromQuery(pu.Query())
	if err != nil {
		t.Fatal(err)
	}
	in.Server = ""
	if got != in {
		t.Errorf("round trip: got %+v, want %+v", got, in)
	}
	for _, q := range []string{"host=x", "host=x&port=abc", "host=x&port=70000", "port=25"} {
		v, _ := url.ParseQuery(q)
		_, err := TargetFromQuery(v)
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != CodeBadRequest {
			t.Errorf("%s: got %v, want a bad request close error", q, err)
		}
	}
}

// closeErrorTests are close frames as the gateway sends them and what a
// student reads; both builds' Dial return them as *CloseError.
var closeErrorTests = []struct {
	code   int
	reason string
	is     error
	text   string
}{
	{4001, "home-isp refuses outbound port 25", ErrRefused, "Connection refused"},
	{4006, "smtp.relay.test has no service on port 465", ErrRefused, "Connection refused"},
	{4002, "cloud-vm drops port 587", ErrTimedOut, "Connection timed out"},
	{4003, "no host nowhere.test", ErrUnknownHost, "Name or service not known"},
	{4004, "missing host", nil, "tunnel bad request (4004): missing host"},
	{4005, "", nil, "tunnel no such lab (4005)"},
	{4008, "8 connections per lab", nil, "tunnel too many connections (4008): 8 connections per lab"},
	{4009, "idle for 5m0s", nil, "tunnel idle timeout (4009): idle for 5m0s"},
	{1009, "", nil, "tunnel message too big (1009)"},
	{4999, "odd", nil, "tunnel closed (4999): odd"},
}

func TestCloseErrors(t *testing.T) {
	sentinels := []error{ErrRefused, ErrTimedOut, ErrUnknownHost}
	for _, tt := range closeErrorTests {
		err := fmt.Errorf("tunnel: dial h:25: %w", &CloseError{Code: tt.code, Reason: tt.reason})
		var ce *CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("%d: errors.As failed on %v", tt.code, err)
		}
		if ce.Error() != tt.text {
			t.Errorf("%d: Error() = %q, want %q", tt.code, ce.Error(), tt.text)
		}
		for _, s := range sentinels {
			if got, want := errors.Is(err, s), s == tt.is; got != want {
				t.Errorf("%d: errors.Is(%v) = %v, want %v", tt.code, s, got, want)
			}
		}
	}
}
