package sandbox

import (
	"fmt"

	"github.com/portlab/portlab/server/internal/httpguard"
)

// Budget shares the process's file descriptors among the connections
// that hold one, so that no kind of client, and no one address, can take
// them all (issue 15): a process out of descriptors accepts nothing, and
// its pages, its API and every SMTP door stop answering at once.
//
// What holds a descriptor: each real SMTP connection, each HTTP
// connection (a WebSocket tunnel is one: its relay side is an in-process
// net.Pipe, as is the relay's own delivery to another simulated host),
// the listeners, and the runtime's few. The split:
//
//   - SMTP: 40 % (the policy's max-connections auto), answered 421 4.3.2
//     past it;
//   - HTTP: 40 % (pages, API, event streams, tunnels), answered 503 past it;
//   - the rest, at least [minReserve], a reserve: the listeners, the
//     runtime, stdio, the certificate files, and connections being refused
//     (an over-the-limit client still costs a descriptor until its 421 or
//     503 is written; httpguard answers at most 64 at once).
//
// One address may hold at most a quarter of each pool, so that it never
// fills one alone. Numbers given explicitly (the policy's max-connections
// and max-connections-per-client, --http-conns, --http-conns-per-client)
// win, clamped to the same bounds with a warning.
type Budget struct {
	// Files is the open-file limit split: the soft RLIMIT_NOFILE, which
	// Go raises to the hard limit at start-up.
	Files               int
	SMTP, SMTPPerClient int
	HTTP, HTTPPerClient int
	Reserve             int
}

const (
	poolPercent = 40  // of Files, for each of SMTP and HTTP
	minReserve  = 128 // descriptors kept whatever the limit
	clientShare = 4   // one address holds at most 1/clientShare of a pool
	minPool     = 8   // below this the limit is too small to serve a class
)

// budgetRequest holds the numbers asked for; 0 means derive it.
type budgetRequest struct {
	SMTP, SMTPPerClient, HTTP, HTTPPerClient int
}

// newBudget splits files descriptors, clamping what req asks for; each
// clamp is a warning for the start-up output.
func newBudget(files int, req budgetRequest) (Budget, []string, error) {
	reserve := max(files-2*(files*poolPercent/100), minReserve)
	pool := (files - reserve) / 2
	if pool < minPool {
		return Budget{}, nil, fmt.Errorf("the open-file limit (%d) is too small: portlab needs at least %d (raise it with ulimit -n)", files, minReserve+2*minPool)
	}
	perClient := max(pool/clientShare, 1)
	var warnings []string
	clamp := func(what string, asked, most int) int {
		if asked > most {
			warnings = append(warnings, fmt.Sprintf("%s %d is more than the open-file limit (%d) leaves room for: using %d", what, asked, files, most))
			return most
		}
		return asked
	}
	b := Budget{Files: files, Reserve: files - 2*pool, SMTP: pool, HTTP: pool}
	if req.SMTP > 0 {
		b.SMTP = clamp("max-connections", req.SMTP, pool)
	}
	b.SMTPPerClient = perClient
	if req.SMTPPerClient > 0 {
		b.SMTPPerClient = clamp("max-connections-per-client", req.SMTPPerClient, perClient)
	}
	if req.HTTP > 0 {
		b.HTTP = clamp("--http-conns", req.HTTP, pool)
	}
	// A browser opens about six connections per site, plus one per event
	// stream and tunnel, and a class may share one NAT address: up to
	// httpguard's default where the limit allows.
	b.HTTPPerClient = min(httpguard.DefaultLimits.PerClient, perClient)
	if req.HTTPPerClient > 0 {
		b.HTTPPerClient = clamp("--http-conns-per-client", req.HTTPPerClient, perClient)
	}
	return b, warnings, nil
}

// String is the start-up line.
func (b Budget) String() string {
	return fmt.Sprintf("%d open files: SMTP %d connections (%d per address), HTTP %d (%d per address), %d in reserve",
		b.Files, b.SMTP, b.SMTPPerClient, b.HTTP, b.HTTPPerClient, b.Reserve)
}
