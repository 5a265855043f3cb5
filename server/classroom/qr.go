package classroom

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/portlab/portlab/server/internal/httpjson"
	"rsc.io/qr"
)

// qr draws the class's join link as an SVG QR code, for the projector.
func (c *Classroom) qr(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	cl := c.classOf(w, r)
	var link string
	if cl != nil {
		link = joinURL(r, cl.Code)
	}
	c.mu.Unlock()
	if cl == nil {
		return
	}
	svg, err := qrSVG(link)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(svg))
}

// qrSVG is text as a QR code in SVG: one path of unit squares with the
// four-module quiet zone the standard asks for (ISO/IEC 18004 §6.3.8).
func qrSVG(text string) (string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", err
	}
	const quiet = 4
	n := code.Size + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code of the join link">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
