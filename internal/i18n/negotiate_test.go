//go:build !js

package i18n

import "testing"

func TestNegotiate(t *testing.T) {
	for _, tt := range []struct {
		name, query, cookie, accept string
		want                        string
		src                         Source
	}{
		{"query wins", "de", "es", "it", "de", FromQuery},
		{"query case-insensitive", "PT-br", "", "", "pt-BR", FromQuery},
		{"unknown query, then cookie", "fr", "es", "it", "es", FromCookie},
		{"unknown cookie, then header", "", "xx", "it-IT,it;q=0.9", "it", FromHeader},
		{"bare pt is Brazil", "", "", "pt", "pt-BR", FromHeader},
		{"pt-PT preferred", "", "", "pt-PT,pt;q=0.9,en;q=0.5", "pt-PT", FromHeader},
		{"Portugal's family: Angola", "", "", "pt-AO", "pt-PT", FromHeader},
		{"pt-BR", "", "", "pt-BR,pt;q=0.9", "pt-BR", FromHeader},
		{"regional German", "", "", "de-CH", "de", FromHeader},
		{"second choice", "", "", "fr-FR,fr;q=0.9,es;q=0.5", "es", FromHeader},
		{"unknown language", "", "", "fr-FR,fr;q=0.9", "en", FromDefault},
		{"wildcard", "", "", "*", "en", FromDefault},
		{"garbage header", "", "", ";;;q=x", "en", FromDefault},
		{"nothing", "", "", "", "en", FromDefault},
	} {
		got, src := Negotiate(tt.query, tt.cookie, tt.accept)
		if got != tt.want || src != tt.src {
			t.Errorf("%s: Negotiate(%q, %q, %q) = %q, %v; want %q, %v", tt.name, tt.query, tt.cookie, tt.accept, got, src, tt.want, tt.src)
		}
	}
}
