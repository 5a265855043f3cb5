package mailbox

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
)

// Bounds on what is kept for display. The raw message is always kept
// whole; these only bound the parsed copy the pages show, so that a
// header section crafted to be huge costs its size once (RFC 5322 §2.2.3
// sets no limit on how often a field may be folded).
const (
	maxHeaders     = 200      // header fields kept
	maxHeaderBytes = 32 << 10 // names and values kept, all fields together
	maxName        = 128      // bytes of one field name
	maxValue       = 2048     // bytes of one unfolded value (a DKIM-Signature fits)
	// cutMarker ends a name or value that was cut for display.
	cutMarker = " [… cut for display]"
	// wsp is what folding adds and unfolding trims (RFC 5322 §2.2.3, §3.2.2).
	wsp = " \t"
)

// parseHeaders reads the header section leniently and in order: a
// student's hand-typed message may have no headers at all, or broken ones,
// and it is still a message. It runs in one pass over raw, copying at most
// the bounded display values, so its work grows linearly with the input and
// what it returns shares no memory with raw. cut counts the fields that
// were not kept because of maxHeaders or maxHeaderBytes.
//
// net/textproto's ReadMIMEHeader is linear too, but it returns a map (the
// order of Received fields is the hop-by-hop lesson), keeps every value
// whole, and rejects the malformed headers students type; the fuzz test
// checks that both agree where textproto accepts the input.
func parseHeaders(raw []byte) (hs []Header, cut int, subject string) {
	var (
		value   []byte // the current field's unfolded value, at most maxValue
		name    string
		full    int  // the current value's unfolded length, kept or not
		keeping bool // the current field is kept
		open    bool // a field is being read
		total   int  // display bytes kept so far
	)
	flush := func() {
		if !open {
			return
		}
		open = false
		if !keeping {
			cut++
			return
		}
		v := string(value) // a copy: raw is not pinned by what is shown
		if full > len(value) {
			v = fmt.Sprintf("%s%s (%d bytes)", v, cutMarker, full)
		}
		total += len(name) + len(v)
		hs = append(hs, Header{Name: name, Value: v})
	}
	add := func(piece []byte) {
		full += len(piece)
		if keeping && len(value) < maxValue {
			value = append(value, piece[:min(len(piece), maxValue-len(value))]...)
		}
	}
	for rest := raw; len(rest) > 0; {
		line, next, _ := bytes.Cut(rest, []byte("\n"))
		rest = next
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // the blank line before the body
		}
		if (line[0] == ' ' || line[0] == '\t') && open {
			if full > 0 { // an unfolded value has no leading space
				add([]byte(" "))
			}
			add(bytes.Trim(line, wsp))
			continue
		}
		n, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(n) == 0 || bytes.ContainsAny(n, " \t") {
			break // body text without a blank line: no more headers
		}
		flush()
		open, full, value = true, 0, value[:0]
		keeping = len(hs) < maxHeaders && total < maxHeaderBytes
		if keeping {
			name = string(n[:min(len(n), maxName)])
			if len(n) > maxName {
				name += cutMarker
			}
		}
		add(bytes.Trim(v, wsp))
	}
	flush()
	for _, h := range hs {
		if strings.EqualFold(h.Name, "Subject") {
			subject = h.Value
			if dec, err := new(mime.WordDecoder).DecodeHeader(h.Value); err == nil {
				subject = dec
			}
			break
		}
	}
	return hs, cut, subject
}
