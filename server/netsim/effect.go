package netsim

import "net"

// Effect is what a network does to a connection that gets through (a
// middlebox, a delay, a reset), in the spirit of toxiproxy's toxics. Each
// effect is one small type in its own file, opening with one sentence on
// the network effect it simulates: its Target decides which connections
// it touches, Apply adds it to the verdict, Explain says it in the
// student's words, and Wrap puts it on the connection. The parser's
// ruleDirectives table maps its directive to its constructor, so adding an
// effect is that file and one row of the table.
type Effect interface {
	Rule
	// Wrap puts the effect on server, the connection toward the host
	// that answers, and returns the connection the client side reads and
	// writes.
	Wrap(server net.Conn) net.Conn
}

// attemptEffect is an Effect that also touches an attempt the network
// refuses or drops (latency delays the refusal too). Other effects act on
// the bytes of an open connection: a blocked one carries none of them, and
// its explanation does not name them.
type attemptEffect interface {
	Effect
	touchesAttempt()
}

func touchesAttempt(e Effect) bool {
	_, ok := e.(attemptEffect)
	return ok
}
