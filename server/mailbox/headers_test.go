package mailbox

import (
	"bufio"
	"bytes"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

func FuzzParseHeaders(f *testing.F) {
	f.Add([]byte("From: a@x.test\r\nSubject: =?utf-8?q?Ol=C3=A1?=\r\nX-Long: one\r\n two\r\n\r\nbody\r\n"))
	f.Add([]byte("no headers at all\r\n"))
	f.Add([]byte("A: 1\nB:2\n\t3\n\n"))
	f.Add([]byte(" leading: space\r\n\r\n"))
	f.Add(foldedHeader(4<<10, " x\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		work := bytes.Clone(raw) // raw is the fuzzer's to keep
		hs, cut, _ := parseHeaders(work)
		if len(hs) > maxHeaders || cut < 0 {
			t.Fatalf("kept %d fields, cut %d", len(hs), cut)
		}
		total := 0
		for _, h := range hs {
			if len(h.Name) > maxName+len(cutMarker) || len(h.Value) > maxValue+len(cutMarker)+24 {
				t.Fatalf("field kept %d+%d bytes", len(h.Name), len(h.Value))
			}
			total += len(h.Name) + len(h.Value)
		}
		if total > maxHeaderBytes+maxName+maxValue+2*len(cutMarker)+24 {
			t.Fatalf("kept %d bytes in all", total)
		}
		// What is kept shares no memory with raw.
		for i := range work {
			work[i] = 'Z'
		}
		again, _, _ := parseHeaders(raw)
		if !slices.Equal(hs, again) {
			t.Fatalf("kept headers changed with the raw buffer: %q vs %q", hs, again)
		}
		// Where net/textproto takes the header section as well formed and
		// nothing was cut, both read the same fields and values.
		want, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
		if err != nil || cut > 0 {
			return
		}
		for k := range want {
			if strings.ContainsAny(k, wsp) {
				return // textproto takes such a name; portlab reads body text
			}
		}
		got := textproto.MIMEHeader{}
		for _, h := range hs {
			if strings.Contains(h.Value, cutMarker) || strings.Contains(h.Name, cutMarker) {
				return
			}
			got.Add(h.Name, h.Value)
		}
		if len(got) != len(want) {
			t.Fatalf("fields %q, textproto reads %q", got, want)
		}
		for k, v := range want {
			if !slices.Equal(got[k], v) {
				t.Fatalf("field %s = %q, textproto reads %q", k, got[k], v)
			}
		}
	})
}

func BenchmarkParseFoldedHeader(b *testing.B) {
	raw := foldedHeader(1<<20, " x\r\n")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		parseHeaders(raw)
	}
}
