//go:build !(js && wasm)

// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// postgresql package (/usr/lib/postgresql/N/bin), a data directory of its
// own, a unix socket in that directory (no TCP port, so parallel test
// packages never collide), stopped when the package's tests end.
//
// A test calls [DSN] for a fresh empty database. A package whose
// TestMain calls [Main] shares one server among its tests; in any other
// the server is the test's own, stopped at its cleanup.
//
// Where PostgreSQL is not installed the test is skipped with the command
// that installs it; with CI=true (or under make test, which installs it)
// it fails instead, so a CI machine never passes by skipping.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// server is the package's one PostgreSQL, started on first use.
type server struct {
	bin, dir string
	cred     *syscall.Credential // who runs it when the tests run as root
	user     string              // its superuser
	err      error
}

var (
	shared  atomic.Bool // Main runs the tests
	once    sync.Once
	srv     server
	started atomic.Bool
	dbSeq   atomic.Int64
)

// Main runs the package's tests, which share one server, and stops it
// after them.
func Main(m *testing.M) {
	shared.Store(true)
	code := m.Run()
	if started.Load() {
		srv.stop()
	}
	os.Exit(code)
}

// DSN returns the address of a new, empty database (a postgres://
// URL), starting the server on first use.
func DSN(t testing.TB) string {
	t.Helper()
	s := &srv
	if shared.Load() {
		once.Do(func() {
			srv.err = srv.start()
			started.Store(srv.err == nil)
		})
	} else {
		s = &server{}
		s.err = s.start()
		if s.err == nil {
			t.Cleanup(s.stop)
		}
	}
	if s.err != nil {
		// make test installs it first (test-deps) and says so with
		// PORTLAB_REQUIRE_TOOLS, as for the interop tests' clients.
		if os.Getenv("CI") == "true" || os.Getenv("PORTLAB_REQUIRE_TOOLS") != "" {
			t.Fatalf("PostgreSQL: %v", s.err)
		}
		t.Skipf("PostgreSQL: %v (skipped; with CI=true it fails)", s.err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return s.dsn(name)
}

// dsn is a postgres:// URL, the form --store takes; the socket's
// directory goes in the host parameter.
func (s *server) dsn(db string) string {
	q := url.Values{"host": {s.dir}, "user": {s.user}, "sslmode": {"disable"}}
	return "postgres:///" + db + "?" + q.Encode()
}

// binDir is the newest /usr/lib/postgresql/N/bin holding initdb.
func binDir() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", fmt.Errorf("not installed (apt-get install -y postgresql, or make test-deps)")
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) < version(found[j]) })
	return filepath.Dir(found[len(found)-1]), nil
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

func (s *server) start() (err error) {
	defer func() {
		if err != nil && s.dir != "" {
			os.RemoveAll(s.dir)
		}
	}()
	if s.bin, err = binDir(); err != nil {
		return err
	}
	// initdb and postgres refuse to run as root: run them as the
	// postgres user (or nobody) when the tests are root.
	s.user = "portlab"
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			if u, err = user.Lookup("nobody"); err != nil {
				return fmt.Errorf("running as root and no postgres or nobody user to run the server as")
			}
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parents are 0700 root, which the server's user
	// cannot cross when the tests run as root.
	if s.dir, err = os.MkdirTemp("", "portlab-pg-"); err != nil {
		return err
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", s.user, "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// No TCP at all: the socket in s.dir is the only way in. fsync off:
	// a test database need not survive a power cut.
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off -c max_connections=200", s.dir)
	if out, err := s.run("pg_ctl", "-D", data, "-l", filepath.Join(s.dir, "log"), "-o", opts, "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

func (s *server) stop() {
	s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(s.dir)
}

func (s *server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + s.bin + ":/usr/bin:/bin", "LC_ALL=C"}
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}
