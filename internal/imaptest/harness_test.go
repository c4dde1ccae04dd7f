package imaptest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/testkit"
)

// imaptestCommit names the vendored tarball; the cache folder carries it
// so that a new tarball gets a new build.
const imaptestCommit = "0de0dbf-p1" // -p1: build.sh patches client-state.c

// tool is a built imaptest: the binary and its scripted tests folder.
type tool struct {
	bin   string
	tests string
}

// buildTool builds imaptest once per test binary.
var buildTool = sync.OnceValues(func() (tool, error) {
	if dir := os.Getenv("BARID_IMAPTEST_DIR"); dir != "" {
		tl := tool{bin: filepath.Join(dir, "imaptest"), tests: filepath.Join(dir, "tests")}
		if _, err := os.Stat(tl.bin); err != nil {
			return tool{}, fmt.Errorf("BARID_IMAPTEST_DIR: %v", err)
		}
		return tl, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "barid", "imaptest-"+imaptestCommit)
	script, err := filepath.Abs(filepath.Join("..", "..", "third_party", "imaptest", "build.sh"))
	if err != nil {
		return tool{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		return tool{}, fmt.Errorf("third_party/imaptest/build.sh %s: %v\n%s", out, err, stderr.String())
	}
	return tool{bin: filepath.Join(out, "imaptest"), tests: filepath.Join(out, "tests")}, nil
})

// needTool returns the built imaptest, or skips the test saying why it
// could not be built; with BARID_REQUIRE_IMAPTEST=1 (CI) it fails instead.
func needTool(t *testing.T) tool {
	t.Helper()
	tl, err := buildTool()
	if err == nil {
		return tl
	}
	msg := fmt.Sprintf("imaptest unavailable (Debian packages dovecot-dev autoconf automake libtool pkg-config make gcc libssl-dev, installed by .ci/run): %v", err)
	if os.Getenv("BARID_REQUIRE_IMAPTEST") == "1" {
		t.Fatal(msg + "\nBARID_REQUIRE_IMAPTEST=1: this must not skip")
	}
	t.Skip(msg)
	return tool{}
}

// server is a whole barid (SQLite + blob files + IMAP) on loopback, as
// `barid serve` wires it: a testkit.Server.
type server struct {
	*testkit.Server
	t    testing.TB
	addr string
	logs *testkit.LogBuffer
}

// password is every test account's password.
const password = "pass"

func startServer(t testing.TB) *server {
	t.Helper()
	ks := testkit.Start(t, testkit.WithoutTLSListener(), testkit.WithLogLevel("warn"), func(c *config.Config) {
		// Many imaptest processes connect from 127.0.0.1 at once.
		c.Auth.TrustedNetworks = []string{"127.0.0.0/8"}
	})
	return &server{Server: ks, t: t, addr: ks.Addr, logs: ks.Logs}
}

func (s *server) addUser(name string) { s.AddUser(name, password) }

func (s *server) hostPort() (string, string) {
	h, p, err := net.SplitHostPort(s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	return h, p
}

// rawSession is a logged-in IMAP connection for the harness's own
// set-up commands.
type rawSession struct {
	c net.Conn
	r *bufio.Reader
}

// login connects and logs user in.
func (s *server) login(user string) (*rawSession, error) {
	c, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rs := &rawSession{c: c, r: bufio.NewReader(c)}
	if _, err := rs.r.ReadString('\n'); err != nil { // greeting
		c.Close()
		return nil, err
	}
	if _, err := rs.cmd("a", "LOGIN "+user+" "+password); err != nil {
		c.Close()
		return nil, err
	}
	return rs, nil
}

// cmd sends one command and returns its untagged lines, or an error
// unless the tagged answer is OK.
func (rs *rawSession) cmd(tag, line string) ([]string, error) {
	if _, err := fmt.Fprintf(rs.c, "%s %s\r\n", tag, line); err != nil {
		return nil, err
	}
	var untagged []string
	for {
		l, err := rs.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			if !strings.HasPrefix(rest, "OK") {
				return nil, fmt.Errorf("%s: %s", line, l)
			}
			return untagged, nil
		}
		untagged = append(untagged, l)
	}
}

// capabilities logs user in and returns what CAPABILITY announces after
// login, which is the list imaptest compares a group's header with
// (test-exec.c, test_have_all_capabilities: case-insensitive, whole
// words).
func (s *server) capabilities(user string) (map[string]bool, error) {
	rs, err := s.login(user)
	if err != nil {
		return nil, err
	}
	defer rs.c.Close()
	cmd := rs.cmd
	lines, err := cmd("b", "CAPABILITY")
	if err != nil {
		return nil, err
	}
	caps := make(map[string]bool)
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "* CAPABILITY "); ok {
			for _, c := range strings.Fields(rest) {
				caps[strings.ToUpper(c)] = true
			}
		}
	}
	if len(caps) == 0 {
		return nil, errors.New("no CAPABILITY response")
	}
	cmd("c", "LOGOUT")
	return caps, nil
}

// gap is one line of testdata/known-gaps.txt.
type gap struct {
	name, reason string
	line         int
}

// readKnownGaps parses testdata/known-gaps.txt: one group (or "stress")
// per line, then its reason; blank lines and # comments are ignored.
func readKnownGaps(t *testing.T) map[string]gap {
	t.Helper()
	const path = "testdata/known-gaps.txt"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gaps := make(map[string]gap)
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, reason, _ := strings.Cut(l, " ")
		reason = strings.TrimSpace(reason)
		if reason == "" {
			t.Errorf("%s:%d: %s has no reason", path, i+1, name)
		}
		if _, dup := gaps[name]; dup {
			t.Errorf("%s:%d: %s listed twice", path, i+1, name)
		}
		gaps[name] = gap{name: name, reason: reason, line: i + 1}
	}
	return gaps
}

// runImaptest runs imaptest with args (key=value, as it takes them) in
// a scratch folder and returns its combined output and exit error.
func runImaptest(ctx context.Context, tl tool, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, tl.bin, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%v (%v)", err, ctx.Err())
	}
	return string(out), err
}
