package web

import (
	"context"
	"strconv"
	"strings"

	"github.com/portlab/portlab/internal/i18n"
)

type catalogKey struct{}

// withCatalog gives the components rendered with ctx the page language's
// catalog, so that a component without the page's meta (the terminal, the
// policy editor) can print its strings with t.
func withCatalog(ctx context.Context, c *i18n.Catalog) context.Context {
	return context.WithValue(ctx, catalogKey{}, c)
}

// t is the text of a catalog key in the language of the page being
// rendered (English outside a page).
func t(ctx context.Context, key string, args ...any) string {
	c, _ := ctx.Value(catalogKey{}).(*i18n.Catalog)
	return c.T(key, args...)
}

// quickCommands are one-tap commands for students on a phone.
var quickCommands = []string{"EHLO student.example", "STARTTLS", "NOOP", "RSET", "QUIT"}

func chipID(cmd string) string {
	f := strings.Fields(strings.ToLower(cmd))
	if len(f) == 0 {
		return "empty"
	}
	return f[0]
}

// profileLabel is how a menu names a profile: its title in lang (else in
// English), then its name, which scenarios and commands use.
func profileLabel(p Profile, lang string) string {
	title := p.Title
	if t := p.Titles[lang]; t != "" {
		title = t
	}
	if title == "" || title == p.Name {
		return p.Name
	}
	return title + " (" + p.Name + ")"
}

func profileDescription(d playgroundData) string {
	for _, p := range d.Profiles {
		if p.Name == d.Profile {
			return describeIn(p, d.Lang)
		}
	}
	return ""
}

// describeIn is a profile's description in lang, else in English.
func describeIn(p Profile, lang string) string {
	if t := p.Descriptions[lang]; t != "" {
		return t
	}
	return p.Description
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

// authLabel is Thunderbird's authentication method for a listener, as a
// catalog key.
func authLabel(auth string) string {
	switch auth {
	case "required", "offered":
		return "clients.auth.password"
	}
	return "clients.auth.none"
}

// nextPath is the address of another lesson from a lesson page: an
// embedded lesson links to the embedded next one, keeping its frame.
func nextPath(m pageMeta, name string) string {
	if m.Embed {
		return "/embed/lessons/" + name
	}
	return "/lessons/" + name
}
