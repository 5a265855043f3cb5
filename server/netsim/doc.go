// Package netsim decides what the student's network does to a connection
// before it reaches a simulated host: let it pass, refuse it at once
// ("Connection refused"), drop it (silence until a timeout), hand it to
// another host (a transparent intercepting proxy), strip STARTTLS from it
// or slow it down (docs/teaching-map.md L10, L4, L6).
//
// A network is a [Profile]: an ordered list of small [Rule] values, each
// one fault in the spirit of toxiproxy's toxics. [Profile.Decide] turns a
// profile and a host:port into one [Verdict], with a sentence a student can
// read saying which rule decided. Profiles are data, read from a
// teacher-editable file; [Default] parses the embedded default.profiles,
// whose header documents the format.
//
// The package dials nothing. A caller (the gateway, portlab dial) uses it
// like this, so that every step fails the way a real one does:
//
//  1. world.Host: an unknown name fails before any packet ("no such host").
//  2. Profile.Decide: Refuse and Drop end here; Intercept swaps in
//     Verdict.InterceptHost as the host that answers.
//  3. world.Door on the answering host: a closed port is refused by the
//     host itself.
//  4. Wrap the joined connection in the middleboxes the verdict asks for:
//     [StripSTARTTLS] and [Delay].
package netsim
