package web

import (
	"strconv"
	"strings"
)

// quickCommands are one-tap commands for students on a phone.
var quickCommands = []string{"EHLO student.example", "STARTTLS", "NOOP", "RSET", "QUIT"}

func chipID(cmd string) string {
	f := strings.Fields(strings.ToLower(cmd))
	if len(f) == 0 {
		return "empty"
	}
	return f[0]
}

func profileLabel(p Profile) string {
	if p.Title == "" || p.Title == p.Name {
		return p.Name
	}
	return p.Title + " (" + p.Name + ")"
}

func profileDescription(d playgroundData) string {
	for _, p := range d.Profiles {
		if p.Name == d.Profile {
			return p.Description
		}
	}
	return ""
}

func doorList(h Host) string {
	var b strings.Builder
	for i, d := range h.Doors {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(d.Port))
	}
	return b.String()
}

func authLabel(auth string) string {
	switch auth {
	case "required", "offered":
		return "Normal password"
	}
	return "No authentication"
}

// nextPath is the address of another lesson from a lesson page: an
// embedded lesson links to the embedded next one, keeping its frame.
func nextPath(m pageMeta, name string) string {
	if m.Embed {
		return "/embed/lessons/" + name
	}
	return "/lessons/" + name
}
