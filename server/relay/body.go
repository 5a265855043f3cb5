package relay

// messageBody is the message being received in DATA. The wire reads it
// whole, to the final dot, and keeps it here for the session; go-smtp's
// own DATA reader sees only that dot, so it cannot end the message
// anywhere else.
type messageBody struct {
	buf     []byte
	max     int64 // the size limit
	tooLong bool  // a line broke the line limit: refuse the message
	tooBig  bool  // the body broke the size limit: refuse the message
}

// add keeps one message line, without the dot RFC 5321 §4.5.2 adds to
// lines that start with one, up to the size limit; past it the rest is
// read and dropped, and the message is refused after the final dot.
func (b *messageBody) add(line []byte) {
	if line[0] == '.' {
		line = line[1:]
	}
	if int64(len(b.buf)+len(line)) > b.max {
		b.tooBig = true
		return
	}
	b.buf = append(b.buf, line...)
}

// lineTooLong marks the message as refused; reading goes on to the dot.
func (b *messageBody) lineTooLong() { b.tooLong = true }

// take hands over the message read, and whether it broke a limit.
func (b *messageBody) take() (body []byte, tooLong, tooBig bool) {
	body, tooLong, tooBig = b.buf, b.tooLong, b.tooBig
	*b = messageBody{max: b.max}
	return body, tooLong, tooBig
}

// drop forgets the message: the session is ending before its dot.
func (b *messageBody) drop() { b.take() }

// recycle takes back a body the session has copied, for the next message
// of the session; a large one is dropped, so an idle session holds little.
func (b *messageBody) recycle(body []byte) {
	if cap(body) <= 64<<10 {
		b.buf = body[:0]
	}
}
