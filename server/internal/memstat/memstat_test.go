package memstat

import "testing"

func TestRSSGrowsWithTouchedMemory(t *testing.T) {
	before, err := RSS()
	if err != nil {
		t.Skip(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1 // touch every page so it becomes resident
	}
	after, _ := RSS()
	if after-before < 32<<20 {
		t.Errorf("RSS grew %d bytes after touching 64 MiB", after-before)
	}
	_ = buf[len(buf)-1]
}
