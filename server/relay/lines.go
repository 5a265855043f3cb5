package relay

import (
	"bufio"
	"errors"
	"io"
	"net"
)

var (
	errLineTooLong = errors.New("line too long")
	errBareLF      = errors.New("bare LF")
)

// lineReader reads the client's input by the one rule the relay holds in
// commands, AUTH responses and DATA alike: a line ends with CRLF (RFC 5321
// §2.3.8); a line that ends in a bare LF is reported, and so is a line
// over the limit, which is read to its end so the session can go on.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) lineReader {
	return lineReader{br: bufio.NewReaderSize(r, 4096)}
}

// read reads one line of at most limit octets, CRLF included.
func (l *lineReader) read(limit int) ([]byte, error) {
	l.buf = l.buf[:0]
	tooLong := false
	var prev byte // the last octet of the previous fragment
	for {
		frag, err := l.br.ReadSlice('\n')
		if !tooLong {
			l.buf = append(l.buf, frag...)
			if len(l.buf) > limit {
				tooLong, l.buf = true, l.buf[:0]
			}
		}
		if err == nil {
			beforeLF := prev
			if len(frag) >= 2 {
				beforeLF = frag[len(frag)-2]
			}
			switch {
			case beforeLF != '\r':
				return nil, errBareLF
			case tooLong:
				return nil, errLineTooLong
			}
			return l.buf, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if len(frag) > 0 {
			prev = frag[len(frag)-1]
		}
	}
}

// discard drops what the client sent and was read ahead but not yet used.
func (l *lineReader) discard() { l.br.Discard(l.br.Buffered()) }

// reset starts afresh on r.
func (l *lineReader) reset(r io.Reader) { l.br.Reset(r) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
