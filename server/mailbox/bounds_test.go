package mailbox

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// foldedHeader is a header section whose one field is folded over
// continuation lines of the given text until it is about n bytes long.
func foldedHeader(n int, cont string) []byte {
	var b bytes.Buffer
	b.WriteString("Subject: start\r\n")
	for b.Len() < n {
		b.WriteString(cont)
	}
	b.WriteString("\r\nbody\r\n")
	return b.Bytes()
}

// allocated reports the bytes allocated while storing raw.
func allocated(raw []byte) uint64 {
	s := New(10, 1<<30, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s.Deliver(&Message{Lab: "L", Raw: raw})
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A header folded over many short lines must cost work in proportion to
// its size: the bytes allocated for four times the input stay well under
// the sixteen times a quadratic parse allocates. Allocation is counted,
// not timed.
func TestFoldedHeaderCostIsLinear(t *testing.T) {
	small := allocated(foldedHeader(32<<10, " x\r\n"))
	big := allocated(foldedHeader(128<<10, " x\r\n"))
	t.Logf("allocated %d bytes for 32 KiB, %d for 128 KiB", small, big)
	if big > 6*small {
		t.Errorf("4x the header allocated %.1fx the bytes (%d vs %d): parsing is not linear", float64(big)/float64(small), big, small)
	}
}

// What is kept for display is bounded however large the header section:
// each value is cut with a marker, the number of fields is capped and
// the cut fields counted, and the raw message stays whole.
func TestDisplayedHeadersAreBounded(t *testing.T) {
	s := New(10, 1<<30, nil)
	long := foldedHeader(256<<10, " "+strings.Repeat("y", 990)+"\r\n")
	s.Deliver(&Message{Lab: "L", Raw: long})
	var many bytes.Buffer
	for i := range 5000 {
		fmt.Fprintf(&many, "X-Field-%d: %s\r\n", i, strings.Repeat("v", 900))
	}
	many.WriteString("\r\nbody\r\n")
	s.Deliver(&Message{Lab: "L", Raw: many.Bytes()})
	box := s.List("L")
	for _, m := range box {
		kept := 0
		for _, h := range m.Headers {
			kept += len(h.Name) + len(h.Value)
			if len(h.Value) > maxValue+len(cutMarker)+20 {
				t.Errorf("%s value kept %d bytes, want at most about %d", h.Name, len(h.Value), maxValue)
			}
		}
		if kept > maxHeaderBytes+maxValue+len(cutMarker)+100 || len(m.Headers) > maxHeaders {
			t.Errorf("kept %d header fields, %d bytes for display", len(m.Headers), kept)
		}
	}
	if v := box[1].Headers[0].Value; !strings.HasPrefix(v, "start yyy") || !strings.Contains(v, cutMarker) {
		t.Errorf("long value kept as %.40q…%q, want its start and the cut marker", v, v[max(0, len(v)-40):])
	}
	if box[1].Subject != box[1].Headers[0].Value {
		t.Errorf("subject %.40q differs from its kept value", box[1].Subject)
	}
	if box[0].HeadersCut == 0 || len(box[0].Headers)+box[0].HeadersCut != 5000 {
		t.Errorf("kept %d fields and counted %d cut, want 5000 in all", len(box[0].Headers), box[0].HeadersCut)
	}
	if !bytes.Equal(box[1].Raw, long) || box[1].Size != len(long) {
		t.Error("the raw message was not kept whole")
	}
}

// The heap the store holds is what it accounts, and what it accounts stays
// within its budget: display headers are small copies, not views into a
// second full copy of each message.
func TestHeapStaysWithinBudget(t *testing.T) {
	const budget = 16 << 20
	s := New(1000, budget, nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 64 {
		raw := make([]byte, 256<<10)
		copy(raw, fmt.Sprintf("Subject: message %d\r\nX-Pad: %s\r\n\r\n", i, strings.Repeat("p", 500)))
		s.Deliver(&Message{Lab: fmt.Sprintf("lab%d", i%32), Raw: raw})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n, held, _ := s.Stats()
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d messages, %d bytes accounted, %d bytes of live heap", n, held, live)
	if held > budget {
		t.Errorf("accounted %d bytes, over the budget of %d", held, budget)
	}
	if live > budget*6/5 || live > held*6/5+256<<10 {
		t.Errorf("live heap %d bytes for %d accounted (budget %d)", live, held, budget)
	}
	runtime.KeepAlive(s)
}
