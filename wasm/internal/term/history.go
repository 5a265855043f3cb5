package term

// History is the input history of the terminal, recalled with the arrow
// keys like a shell's. The zero value is ready to use.
type History struct {
	lines []string
	pos   int    // index into lines while browsing; len(lines) when not
	draft string // what was typed before browsing began
}

// MaxHistory bounds the history.
const MaxHistory = 200

// Add records a sent line and stops browsing. Empty lines and repeats of
// the last line are not recorded.
func (h *History) Add(line string) {
	if line != "" && (len(h.lines) == 0 || h.lines[len(h.lines)-1] != line) {
		h.lines = append(h.lines, line)
		if len(h.lines) > MaxHistory {
			h.lines = h.lines[len(h.lines)-MaxHistory:]
		}
	}
	h.pos = len(h.lines)
	h.draft = ""
}

// Up returns the previous line; current is what the input holds now.
func (h *History) Up(current string) string {
	if h.pos == len(h.lines) {
		h.draft = current
	}
	if h.pos > 0 {
		h.pos--
	}
	if h.pos < len(h.lines) {
		return h.lines[h.pos]
	}
	return current
}

// Down returns the next line, or the draft after the newest.
func (h *History) Down(current string) string {
	if h.pos >= len(h.lines) {
		return current
	}
	h.pos++
	if h.pos == len(h.lines) {
		return h.draft
	}
	return h.lines[h.pos]
}

// Lines returns the recorded lines, oldest first.
func (h *History) Lines() []string { return append([]string(nil), h.lines...) }
