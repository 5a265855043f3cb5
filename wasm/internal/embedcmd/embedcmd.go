// Package embedcmd is the command side of the embed API: which origins may
// command an embedded page, and which commands it knows. The wasm glue
// (wasm/embed.go) reads a postMessage into a Command and acts on it; this
// package holds the rules, so that they are tested natively.
package embedcmd

import (
	"slices"
	"strconv"
	"strings"
)

// The commands an embedding page may send.
const (
	Start   = "start"   // start the lesson (as the Start button)
	Reset   = "reset"   // forget the lesson's progress, back to "Not started"
	Play    = "play"    // the player plays every step up to the one named by Step
	Profile = "profile" // switch the lab to the network profile named by Profile
)

// Names lists the commands, in the order the README gives them.
var Names = []string{Start, Reset, Play, Profile}

// Command is one message of the parent page: {command, id, step, profile}.
// ID is the parent's own, echoed in the answer so that it can pair them.
type Command struct {
	Command string
	ID      string
	Step    string
	Profile string
}

// Error is the answer to a command that cannot be done.
type Error string

func (e Error) Error() string { return string(e) }

// Check reports what is wrong with a command, nil when it can be tried.
func Check(c Command) error {
	switch c.Command {
	case Start, Reset:
		return nil
	case Play:
		if c.Step == "" {
			return Error(`play needs the step's id: {command: "play", step: "ID"}`)
		}
		return nil
	case Profile:
		if c.Profile == "" {
			return Error(`profile needs a profile name: {command: "profile", profile: "NAME"}`)
		}
		return nil
	}
	return Error("unknown command " + strconv.Quote(c.Command) + ": the commands are " + strings.Join(Names, ", "))
}

// Allowed reports whether a message from origin may command the page: its
// origin must be one of the allowed ones exactly (scheme, host and port,
// as postMessage gives it), never a pattern. "null" (a sandboxed frame, a
// file: page) is never allowed.
func Allowed(origin string, allowed []string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	return slices.Contains(allowed, origin)
}
