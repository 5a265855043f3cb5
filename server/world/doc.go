// Package world is the sandbox's map of simulated hosts and their doors
// (ports): which names exist, which ports are open on each, and what
// answers there (an SMTP relay with a named policy, a submission port, or
// a mail retrieval door that only greets).
//
// The world table is the sandbox's only resolver. A name that is not in it
// does not exist ([ErrNoSuchHost]), and that includes IP literals and
// "localhost": nothing in portlab dials an address taken from input
// (ARCHITECTURE.md, invariant 1). A listed host with a closed port answers
// like a real host does, with a refusal ([ErrPortClosed], "Connection
// refused").
//
// The hosts come from a teacher-editable text file; [Default] parses the
// embedded default.hosts, whose header documents the format. [ServeBanner]
// plays the IMAP and POP3 doors that teach "wrong door" lessons (docs/teaching-map.md
// L1: retrieval protocols live on other ports than SMTP).
package world
