// Package netsim decides what the student's network does to a connection
// before it reaches a simulated host: let it pass, refuse it at once
// ("Connection refused"), drop it (silence until a timeout), hand it to
// another host (a transparent intercepting proxy), strip STARTTLS from it
// or slow it down (LESSONS.md L10, L4, L6).
//
// A network is a [Profile]: an ordered list of small [Rule] values, each
// one fault in the spirit of toxiproxy's toxics. Profiles are data, read
// from a teacher-editable file; [Default] parses the embedded
// default.profiles, whose header documents the format.
//
// [Route] is the one entry: given the world, a profile and a host:port, it
// says what happens to the connection, as an [Outcome]: unknown host,
// refused by the network, refused by the host (no door), timed out, or
// connected to a host's door (perhaps another host's, when intercepted),
// with a sentence a student can read saying which rule decided, and the
// [Effect] values to put on the way (Outcome.Wrap). The package dials
// nothing: a caller (the gateway, portlab dial) carries the outcome out.
//
// Each effect (STARTTLS stripping, latency, a reset) is one small type in
// one file that decides which connections it touches and wraps them; the
// parser's ruleDirectives table maps its directive to its constructor.
package netsim
