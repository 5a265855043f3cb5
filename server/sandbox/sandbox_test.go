package sandbox

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/internal/leakcheck"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/server/internal/pgtest"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/policy"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// The offset is bounded by the last TCP port, not by a round number:
// every lesson port (the highest is 2525) must still fit below 65536.
func TestPortOffsetBound(t *testing.T) {
	pol := policy.Default()
	for _, tt := range []struct {
		offset string
		ok     bool
	}{
		{"0", true}, {"10000", true}, {"60001", true}, {"63010", true},
		{"63011", false}, {"70000", false}, {"-2", false}, {"ten", false},
	} {
		n, err := portOffset(tt.offset, "127.0.0.1")
		if err == nil {
			err = checkOffset(n, tt.offset, pol)
		}
		if (err == nil) != tt.ok {
			t.Errorf("--port-offset %s: %v, want ok=%v", tt.offset, err, tt.ok)
		}
	}
	_, err := New(Config{PortOffset: "63011"})
	if err == nil || !strings.Contains(err.Error(), "the largest offset is 63010") {
		t.Errorf("New with offset 63011: %v", err)
	}
}

// The lesson checker's built-in cast is the world and profiles the server
// loads by default.
func TestLessonWorldIsTheServers(t *testing.T) {
	w, set, err := LoadWorld("", "")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, h := range w.Hosts() {
		hosts = append(hosts, h.Name)
	}
	if got, want := sorted(hosts), sorted(lesson.World.Hosts); !slices.Equal(got, want) {
		t.Errorf("lesson.World.Hosts = %v, the server's world has %v", want, got)
	}
	if got, want := sorted(set.Names()), sorted(lesson.World.Profiles); !slices.Equal(got, want) {
		t.Errorf("lesson.World.Profiles = %v, the server's profiles are %v", want, got)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// A sandbox with real listeners serves its pages and every lesson port.
func TestNew(t *testing.T) {
	s, err := New(Config{PortOffset: "-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, l := range policy.Default().Listeners {
		if s.SMTPAddr(l.Port) == "" {
			t.Errorf("no listener for lesson port %d", l.Port)
		}
	}
	resp, err := http.Get(s.URL() + "/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "BEGIN CERTIFICATE") {
		t.Errorf("/ca.pem: %s", body)
	}
}

// A new lab starts on the profiles file's default, whatever the file.
func TestDefaultProfileFromFile(t *testing.T) {
	text := strings.Replace(netsim.DefaultText(), "default home-isp", "default corporate", 1)
	if text == netsim.DefaultText() {
		t.Fatal("default.profiles has no `default home-isp` line")
	}
	file := filepath.Join(t.TempDir(), "class.profiles")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Profiles: file})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if l, err := s.Lab(""); err != nil || l.Profile != "corporate" {
		t.Errorf("Lab(\"\") = %+v, %v; want profile corporate", l, err)
	}
	resp, err := http.Post(s.URL()+"/api/labs", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"profile":"corporate"`) {
		t.Errorf("POST /api/labs {}: %s", body)
	}
}

// Close ends live event streams too: a closed sandbox serves nothing more
// (a browser then reconnects to whatever listens next).
func TestCloseEndsEventStreams(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Post(s.URL()+"/api/labs", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var l struct{ ID, Key string }
	json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	req, _ := http.NewRequest("GET", s.URL()+"/api/labs/"+l.ID+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+l.Key)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("event stream: %v %v", stream, err)
	}
	defer stream.Body.Close()
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, stream.Body); ended <- err }()
	s.Close()
	select {
	case <-ended:
	case <-time.After(30 * time.Second): // a failure bound only, not a timing
		t.Fatal("the event stream outlived Close")
	}
}

// Mail from a session whose lab was deleted mid-transaction is refused
// before 250 (nothing acknowledged is lost), and the gone lab gets no
// mailbox back.
// With a shared database the same holds (package replica).
func TestMailForDeletedLab(t *testing.T) {
	t.Run("memory", func(t *testing.T) { mailForDeletedLab(t, Config{PortOffset: "-1"}) })
	t.Run("postgres", func(t *testing.T) { mailForDeletedLab(t, Config{PortOffset: "-1", Store: pgtest.DSN(t)}) })
}

func mailForDeletedLab(t *testing.T, cfg Config) {
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.Lab("")
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(s.SMTPAddr(587))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{ServerName: "smtp.relay.test", RootCAs: s.Roots()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", l.ID, l.Password, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("foo@sandbox.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@sandbox.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Labs().Delete(l.ID); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: too late\r\n\r\nhello\r\n")
	err = w.Close()
	var pe *textproto.Error
	if !errors.As(err, &pe) || pe.Code != 451 || !strings.HasPrefix(pe.Msg, "4.3.0") {
		t.Errorf("end of DATA for a deleted lab: %v, want 451 4.3.0", err)
	}
	if n := len(s.Store().List(l.ID)); n != 0 {
		t.Errorf("the deleted lab has %d messages again", n)
	}
}
