package relay

import (
	"bufio"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/portlab/portlab/server/ca"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/policy"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/")

// sandbox is a relay serving the four lesson ports on loopback.
type sandbox struct {
	r     *Relay
	store *mailbox.Store
	ca    *ca.Authority
	bus   *events.Bus
	addr  map[int]string // lesson port -> 127.0.0.1:N

	mu    sync.Mutex
	slept []time.Duration // AUTH delays asked for; tests never wait them
	skew  time.Duration   // how far "!advance" moved the relay's clock
}

// now is the relay's clock: the real one, moved on by "!advance".
func (sb *sandbox) now() time.Time {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return time.Now().Add(sb.skew)
}

func (sb *sandbox) advance(d time.Duration) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.skew += d
}

func (sb *sandbox) sleep(d time.Duration) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.slept = append(sb.slept, d)
}

func (sb *sandbox) delays() []time.Duration {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return append([]time.Duration(nil), sb.slept...)
}

// doorOptions reads a dialogue's "door" part: "greylist DURATION" lines.
func doorOptions(t testing.TB, text string) func(*Door) {
	t.Helper()
	var grey time.Duration
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if v, ok := strings.CutPrefix(l, "greylist "); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("door: %v", err)
			}
			grey = d
		} else if l != "" {
			t.Fatalf("door: unknown line %q", l)
		}
	}
	return func(d *Door) { d.Greylist = grey }
}

func startSandbox(t testing.TB, policyText string, opts ...func(*Door)) *sandbox {
	t.Helper()
	sb := newSandbox(t, policyText)
	for _, l := range sb.r.policy.Listeners {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sb.addr[l.Port] = ln.Addr().String()
		// Closed here too: a Serve that starts after the relay's Close
		// would otherwise wait on it for ever.
		t.Cleanup(func() { ln.Close() })
		d := Door{Host: l.Host, Port: l.Port}
		for _, o := range opts {
			o(&d)
		}
		go sb.r.Serve(ln, d)
	}
	return sb
}

// newSandbox is a relay with no listeners: sessions come through pipe
// (ServeConn), so it also runs inside a synctest bubble.
func newSandbox(t testing.TB, policyText string) *sandbox {
	t.Helper()
	pol := policy.Default()
	if policyText != "" {
		var err error
		pol, err = policy.Parse("test.policy", strings.NewReader(policy.DefaultText()+"\n"+policyText))
		if err != nil {
			t.Fatal(err)
		}
	}
	auth, err := ca.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The store's budget as served (serve.go): a lab holds 16 MiB, more
	// than the default SIZE, so SIZE is the policy's.
	sb := &sandbox{store: mailbox.New(100, 256<<20, nil), ca: auth, bus: events.NewBus(), addr: map[int]string{}}
	sb.r, err = New(Config{Policy: pol, Certs: auth, Store: sb.store, Bus: sb.bus, Sleep: sb.sleep, Now: sb.now, QueueWait: func(time.Duration) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.r.Close() })
	return sb
}

// client is a raw SMTP client that records a transcript.
type client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	host string
	log  strings.Builder
	last string // the last reply, all lines
}

func dial(t testing.TB, sb *sandbox, port int) *client {
	t.Helper()
	c, err := net.Dial("tcp", sb.addr[port])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	l, _ := sb.r.policy.Listener(port)
	cl := &client{t: t, conn: c, br: bufio.NewReader(c), host: l.Host}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return cl
}

func (c *client) send(line string) {
	c.log.WriteString("C: " + line + "\n")
	fmt.Fprintf(c.conn, "%s\r\n", line)
}

// reply reads one whole reply; "" at EOF.
func (c *client) reply() string {
	var lines []string
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.log.WriteString("== connection closed by server\n")
			c.last = strings.Join(lines, "\n")
			return c.last
		}
		l = strings.TrimRight(l, "\r\n")
		c.log.WriteString("S: " + l + "\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			break
		}
	}
	c.last = strings.Join(lines, "\n")
	return c.last
}

func (c *client) startTLS(sb *sandbox) {
	tc := tls.Client(c.conn, sb.ca.ClientConfig(c.host))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	st := tc.ConnectionState()
	c.log.WriteString(fmt.Sprintf("== TLS %s, certificate for %s\n", tls.VersionName(st.Version), st.PeerCertificates[0].Subject.CommonName))
	c.conn, c.br = tc, bufio.NewReader(tc)
}

// run plays a dialogue script: each line is sent and its reply read;
// directives start with "!".
func (c *client) run(sb *sandbox, script string) {
	lines := strings.Split(strings.TrimRight(script, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "!greeting":
			c.reply()
		case line == "!tls":
			c.startTLS(sb)
		case line == "!data": // body lines up to a lone "."; one reply
			for i++; lines[i] != "."; i++ {
				body := lines[i]
				if n := 0; strings.HasPrefix(body, "!long ") {
					fmt.Sscanf(body, "!long %d", &n)
					body = strings.Repeat("y", n-2)
					c.log.WriteString(fmt.Sprintf("C: <%d octets>\n", n))
				} else {
					c.log.WriteString("C: " + body + "\n")
				}
				fmt.Fprintf(c.conn, "%s\r\n", body)
			}
			c.send(".")
			c.reply()
		case strings.HasPrefix(line, "!cram "): // answer the last 334 challenge
			f := strings.Fields(line)
			chal, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(c.last, "334 "))
			mac := hmac.New(md5.New, []byte(f[2]))
			mac.Write(chal)
			c.log.WriteString("C: <CRAM-MD5 response for " + f[1] + ">\n")
			fmt.Fprintf(c.conn, "%s\r\n", base64.StdEncoding.EncodeToString([]byte(f[1]+" "+hex.EncodeToString(mac.Sum(nil)))))
			c.reply()
		case strings.HasPrefix(line, "!long "): // a line of N octets
			var n int
			fmt.Sscanf(line, "!long %d", &n)
			c.log.WriteString(fmt.Sprintf("C: <%d octets>\n", n))
			fmt.Fprintf(c.conn, "%s\r\n", strings.Repeat("x", n-2))
			c.reply()
		case strings.HasPrefix(line, "!raw "): // Go-quoted bytes, sent as they are
			raw, err := strconv.Unquote(strings.TrimPrefix(line, "!raw "))
			if err != nil {
				c.t.Fatalf("%s: %v", line, err)
			}
			c.log.WriteString("C: " + strings.TrimPrefix(line, "!raw ") + "\n")
			io.WriteString(c.conn, raw)
			c.reply()
		case strings.HasPrefix(line, "!auth-long "): // AUTH PLAIN with an N-octet line
			var n int
			fmt.Sscanf(line, "!auth-long %d", &n)
			c.log.WriteString(fmt.Sprintf("C: <AUTH PLAIN line of %d octets>\n", n))
			fmt.Fprintf(c.conn, "AUTH PLAIN %s\r\n", strings.Repeat("A", n-len("AUTH PLAIN \r\n")))
			c.reply()
		case line == "!eof":
			c.reply()
		case strings.HasPrefix(line, "!advance "): // move the relay's clock on
			d, err := time.ParseDuration(strings.TrimPrefix(line, "!advance "))
			if err != nil {
				c.t.Fatalf("%s: %v", line, err)
			}
			sb.advance(d)
			c.log.WriteString("== " + d.String() + " later\n")
		default:
			c.send(line)
			c.reply()
		}
	}
}

// normalize hides what changes between runs.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`queued as [0-9A-F]+`), "queued as <ID>"},
	{regexp.MustCompile(`334 P[A-Za-z0-9+/=]+`), "334 <challenge>"},
}

func normalize(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		for _, n := range normalizers {
			l = n.re.ReplaceAllString(l, n.with)
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// TestDialogues plays every testdata/dialogues/*.txtar against the real
// relay on loopback and compares the transcript with the golden one.
// Archive files: "policy" (appended to the default policy), "door"
// (options of every door: "greylist 5m"), "port",
// "script", "transcript" (golden; -update rewrites it) and "mailbox" (the
// stored messages, one summary line each).
func TestDialogues(t *testing.T) {
	files, _ := filepath.Glob("testdata/dialogues/*.txtar")
	if len(files) == 0 {
		t.Fatal("no dialogues in testdata/dialogues")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			part := map[string]string{}
			for _, f := range ar.Files {
				part[f.Name] = string(f.Data)
			}
			sb := startSandbox(t, part["policy"], doorOptions(t, part["door"]))
			var port int
			fmt.Sscanf(part["port"], "%d", &port)
			c := dial(t, sb, port)
			if l, _ := sb.r.policy.Listener(port); l.TLS == policy.TLSImplicit {
				c.startTLS(sb)
			}
			c.run(sb, "!greeting\n"+part["script"])
			c.conn.Close()
			got := normalize(c.log.String())
			box := normalize(mailboxSummary(sb.store))
			if *update {
				for i, f := range ar.Files {
					switch f.Name {
					case "transcript":
						ar.Files[i].Data = []byte(got)
					case "mailbox":
						ar.Files[i].Data = []byte(box)
					}
				}
				if _, ok := part["transcript"]; !ok {
					ar.Files = append(ar.Files, txtar.File{Name: "transcript", Data: []byte(got)})
				}
				if _, ok := part["mailbox"]; !ok {
					ar.Files = append(ar.Files, txtar.File{Name: "mailbox", Data: []byte(box)})
				}
				os.WriteFile(file, txtar.Format(ar), 0o644)
				return
			}
			if got != part["transcript"] {
				t.Errorf("transcript differs from %s (go test -run TestDialogues -update to accept):\n--- got\n%s\n--- want\n%s", file, got, part["transcript"])
			}
			if box != part["mailbox"] {
				t.Errorf("mailbox differs:\n--- got\n%s\n--- want\n%s", box, part["mailbox"])
			}
		})
	}
}

func mailboxSummary(s *mailbox.Store) string {
	var b strings.Builder
	msgs := s.List(DefaultLab)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		fmt.Fprintf(&b, "from=<%s> to=%v port=%d host=%s tls=%v(%s) auth=%q relayed=%v subject=%q\n",
			m.From, m.To, m.Port, m.Host, m.TLS, m.TLSVersion, m.AuthUser, m.Relayed, m.Subject)
	}
	return b.String()
}
