//go:build !js

package i18n

import (
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printers sync.Map // language -> *message.Printer

// sprintf formats with x/text/message, so numbers follow the language
// ("1.234" in German, "1,234" in English).
func sprintf(lang, format string, args ...any) string {
	p, ok := printers.Load(lang)
	if !ok {
		p, _ = printers.LoadOrStore(lang, message.NewPrinter(language.Make(lang)))
	}
	return p.(*message.Printer).Sprintf(format, args...)
}
