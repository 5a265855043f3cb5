// Package tunnel is the client side of portlab's gateway: one WebSocket
// carries one simulated TCP connection to a host of the simulated world.
// The same code runs natively (the headless runner, `portlab dial`) and in
// the browser's wasm client, where a tab cannot open a TCP socket itself.
//
// Start with [Dial]; the [Conn] it returns is a [net.Conn], so an SMTP
// client, crypto/tls or io.Copy can use it as if it were TCP.
//
// # Protocol "portlab.tcp.v1"
//
// The server side (server/gateway) implements exactly this; both sides use
// the constants below.
//
//  1. The client opens
//
//     GET {server}/ws/dial?lab=ID&key=KEY&host=NAME&port=N[&profile=NAME][&lang=LANG]
//
//     upgraded to a WebSocket (RFC 6455) with subprotocol [Subprotocol].
//     lab is optional (the gateway then uses the shared "classroom" lab);
//     a named lab needs its key (a browser's WebSocket cannot set an
//     Authorization header, hence the query; the server never logs it);
//     profile is optional (the lab's own network profile applies). host is
//     a name from the simulated world's table, never an address: the
//     gateway dials nothing taken from input. lang is optional: a page
//     language (en, pt-PT, pt-BR, es, it, de) in which the gateway words
//     the network's reasons (Info's rule, the reason of 4001, 4002 and
//     4006); anything else means English.
//
//  2. When the simulated TCP connection is established (the moment a real
//     connect() returns), the gateway sends one text message, a JSON
//     [Info] with type "connected":
//
//     {"type":"connected","host":"smtp.relay.test","port":587,
//     "profile":"home-isp","rule":"...","intercepted_by":"","stripped":false}
//
//     No other text message is sent in this protocol version.
//
//  3. From then on binary messages in both directions carry the raw TCP
//     bytes, in order. Message boundaries mean nothing.
//
//  4. The connection ends with a close frame. The reason is a human
//     sentence (at most 123 bytes, RFC 6455 §5.5). For 4001, 4002 and
//     4006 it is the network's reason alone, in the tunnel's lang, e.g.
//     "outbound port 25 is refused (residential ISPs block it against
//     spam)": the code already says refused or timed out. A reason that
//     would not fit loses the effects (a latency), then the teacher's
//     reasons, rather than end in the middle of a word. Codes:
//
//     1000 normal closure: the server side closed the TCP stream (a reader
//     sees io.EOF), or the client closed it.
//     1001 [CodeGoingAway]: the server is shutting down (SIGTERM); the
//     reason says so in words. An SMTP session got its 421 first. A
//     reader sees a *[CloseError], in both builds, so a client can say why.
//     1009 message too big: a binary message exceeded the gateway's limit.
//     4001 [CodeRefused]: connection refused by the network: the profile
//     refuses the port before it reaches the host. Reported as [ErrRefused].
//     4006 [CodeNoDoor]: connection refused by the host: the network let
//     it through, but nothing listens on that door. Also [ErrRefused]
//     (a TCP client sees the same RST); the code says who refused.
//     4002 [CodeTimedOut]: connection timed out (the profile drops the
//     packets; the gateway waited its dial timeout). Reported as
//     [ErrTimedOut].
//     4003 [CodeUnknownHost]: the host is not in the world's table.
//     Reported as [ErrUnknownHost].
//     4004 [CodeBadRequest]: missing host, bad port, bad profile name.
//     1003 unsupported data: a text message after "connected" (the
//     tunnel carries binary messages only).
//     4005 [CodeNoSuchLab]: the lab does not exist or has expired, or the
//     key is missing or wrong.
//     4008 [CodeTooMany]: too many connections for the lab or for the
//     client address.
//     4009 [CodeIdle]: the connection was idle longer than the gateway's
//     idle limit.
//
//     Failures before "connected" (4001 to 4006, 4008) arrive instead of
//     the "connected" message; [Dial] returns them as a *[CloseError].
//
// # Two platforms, one API
//
// [Dial] natively uses coder/websocket (dial_other.go). In the browser
// (GOOS=js, dial_js.go) it uses the page's WebSocket object directly,
// because coder/websocket's js build reports a received close frame as
// net.ErrClosed and keeps its code private: [Dial] could not tell
// "refused" from "timed out". The browser's CloseEvent has the code, so
// both builds return the same *[CloseError]. Two differences remain,
// both the browser's: a failed HTTP upgrade shows up only as the close
// code 1006 (abnormal closure), and an expired read deadline wakes Read
// without closing the tunnel (natively it closes it, as with
// [websocket.NetConn]); writes never block in a browser, so the write
// deadline is ignored there.
//
// Neither build has a real remote address, so a TLS client on top must set
// tls.Config.ServerName to [Info].Host itself.
//
// [websocket.NetConn]: https://pkg.go.dev/github.com/coder/websocket#NetConn
package tunnel

// Subprotocol is the WebSocket subprotocol both sides require.
const Subprotocol = "portlab.tcp.v1"

// Path is the gateway's dial endpoint, relative to the server URL.
const Path = "/ws/dial"

// TypeConnected is the type of the text message announcing the connection.
const TypeConnected = "connected"

// Close codes sent by the gateway, in the private range 4000-4999 of
// RFC 6455 §7.4.2, plus the standard ones the protocol uses. They are
// untyped so the gateway can hand them to coder/websocket as they are,
// while this package's browser build does without that library.
const (
	// CodeNormal: the server side closed the TCP stream, or the client
	// closed the tunnel. A reader sees io.EOF.
	CodeNormal = 1000
	// CodeGoingAway: the server is shutting down (RFC 6455 §7.4.1
	// "going away"); an SMTP session got its 421 before it.
	CodeGoingAway = 1001
	// CodeTooBig: a message exceeded the gateway's size limit.
	CodeTooBig = 1009
	// CodeRefused: "Connection refused", like a TCP RST to the SYN, sent
	// by the network: the profile refuses the port.
	CodeRefused = 4001
	// CodeTimedOut: "Connection timed out", the SYN was dropped.
	CodeTimedOut = 4002
	// CodeUnknownHost: the host name is not in the simulated world.
	CodeUnknownHost = 4003
	// CodeBadRequest: missing host, bad port or bad parameters.
	CodeBadRequest = 4004
	// CodeNoSuchLab: the lab named in the request does not exist.
	CodeNoSuchLab = 4005
	// CodeNoDoor: "Connection refused" by the host itself: the network
	// let the SYN through, but the host has no door on that port.
	CodeNoDoor = 4006
	// CodeTooMany: too many connections for this lab or client address.
	CodeTooMany = 4008
	// CodeIdle: the connection carried no data for the idle limit.
	CodeIdle = 4009
)
