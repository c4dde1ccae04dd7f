package interop

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"barid/internal/testkit"
)

const popUser, popPass = "pop@example.org", "pop3 secret"

// popServer is barid with its POP3 listeners on, one account, and INBOX
// filled with the corpus's INBOX messages (varied MIME, 8-bit, long
// lines) plus one stored with bare LFs and a line that starts with a dot.
func popServer(t *testing.T) (*testkit.Server, *testkit.Conn, map[string][]byte) {
	t.Helper()
	s := testkit.Start(t, testkit.WithPOP3())
	s.AddUser(popUser, popPass)
	c := s.Dial()
	c.Login(popUser, popPass)
	byID := map[string][]byte{}
	var msgs [][]byte
	for _, m := range genCorpus(11, "pop3") {
		if m.Folder == "INBOX" {
			msgs = append(msgs, m.Data)
		}
	}
	msgs = append(msgs, []byte("From: lf@example.org\nSubject: bare LF\nMessage-ID: <barelf@example.org>\n\n.dot line\nend\n"))
	for _, m := range msgs {
		appendRaw(t, c, m)
		byID[messageID(m)] = m
	}
	return s, c, byID
}

func appendRaw(t *testing.T, c *testkit.Conn, m []byte) {
	t.Helper()
	c.Send(fmt.Sprintf("ap APPEND INBOX {%d+}\r\n%s\r\n", len(m), m))
	if l := c.Until("ap"); !strings.HasPrefix(l[len(l)-1], "ap OK") {
		t.Fatalf("APPEND: %q", l)
	}
}

// inboxCount is the number of INBOX messages, over IMAP.
func inboxCount(t *testing.T, c *testkit.Conn) int {
	t.Helper()
	l := c.ExpectOK("st", "STATUS INBOX (MESSAGES)")
	m := regexp.MustCompile(`MESSAGES (\d+)`).FindStringSubmatch(strings.Join(l, " "))
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// delivered reads every file an MDA wrote into dir (and removes them).
func delivered(t *testing.T, dir string) [][]byte {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		p := filepath.Join(dir, f.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		os.Remove(p)
	}
	return out
}

// TestFetchmailPOP3 runs fetchmail over POP3 (implicit TLS, barid's
// certificate pinned) in keep mode twice, then in delete mode: the first
// keep run fetches everything, the second only the message that arrived
// in between (fetchmail tracks UIDLs, so they must be stable), and the
// delete run fetches all and leaves INBOX empty. Every delivered message
// is byte-identical to the stored one once fetchmail's own changes are
// undone.
func TestFetchmailPOP3(t *testing.T) {
	bin := needBinary(t, "fetchmail", "fetchmail")
	t.Parallel()
	s, c, byID := popServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o700)
	_, port := hostPort(t, s.POP3TLSAddr)
	rcFor := func(keep string) string {
		rc := fmt.Sprintf(`set no bouncemail
poll localhost with proto POP3 port %s
  user "%s" there with password "%s" is "%s" here
  ssl sslcertck sslcertfile "%s"
  %s no rewrite
  mda "/bin/sh -c 'cat > $(mktemp %s/m.XXXXXXXX)'"
`, port, popUser, popPass, localUser(), s.CertFile(), keep, out)
		p := filepath.Join(dir, "rc-"+strings.ReplaceAll(keep, " ", "-"))
		if err := os.WriteFile(p, []byte(rc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fetch := func(rc string) string {
		t.Helper()
		log, err := runErr(2*time.Minute, dir, bin, "-f", rc, "-v", "--nosyslog", "--idfile", filepath.Join(dir, "fetchids"),
			"--pidfile", filepath.Join(dir, "fetchmail.pid"))
		// fetchmail exits 1 when there was no new mail.
		if err != nil && !strings.Contains(log, "No mail for") {
			t.Fatalf("fetchmail: %v\n%s", err, tail(log, 4000))
		}
		return log
	}
	check := func(run string, got [][]byte, want int) {
		t.Helper()
		if len(got) != want {
			t.Errorf("%s: fetchmail delivered %d messages, want %d", run, len(got), want)
		}
		for _, d := range got {
			m, _ := undoFetchmail(t, d, byID)
			orig := byID[messageID(m)]
			if !bytes.Equal(m, toCRLF(orig)) {
				t.Errorf("%s: delivered message differs; %s", run, firstDiff(toCRLF(orig), m))
			}
		}
	}
	keep := rcFor("keep")
	fetch(keep)
	check("first keep run", delivered(t, out), len(byID))
	newMsg := []byte(testkit.Message("arrived-between-runs"))
	appendRaw(t, c, newMsg)
	byID[messageID(newMsg)] = newMsg
	fetch(keep)
	check("second keep run (UIDL)", delivered(t, out), 1)
	if n := inboxCount(t, c); n != len(byID) {
		t.Errorf("keep mode left %d messages, want %d", n, len(byID))
	}
	fetch(rcFor("fetchall no keep"))
	check("delete run", delivered(t, out), len(byID))
	if n := inboxCount(t, c); n != 0 {
		t.Errorf("delete mode left %d messages", n)
	}
}

// TestMpop runs mpop (Debian's mpop) over STLS with barid's certificate
// pinned, keeping mail and tracking UIDLs, then deleting: the same
// counts as fetchmail, and the bytes delivered are the stored messages
// with LF line ends (mpop's MDA delivery adds nothing but its Received
// header, dropped here, and a line break after a last line without one).
func TestMpop(t *testing.T) {
	bin := needBinary(t, "mpop", "mpop")
	t.Parallel()
	s, c, byID := popServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o700)
	host, port := hostPort(t, s.POP3Addr)
	conf := func(keep string) string {
		rc := fmt.Sprintf(`defaults
tls on
tls_starttls on
tls_trust_file %s
tls_host_override localhost
account default
host %s
port %s
user %s
password %s
uidls_file %s/uidls
keep %s
delivery mda "/bin/sh -c 'cat > $(mktemp %s/m.XXXXXXXX)'"
`, s.CertFile(), host, port, popUser, popPass, dir, keep, out)
		p := filepath.Join(dir, "mpoprc-"+keep)
		if err := os.WriteFile(p, []byte(rc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pop := func(rc string) {
		t.Helper()
		if log, err := runErr(2*time.Minute, dir, bin, "-C", rc, "-q"); err != nil {
			t.Fatalf("mpop: %v\n%s", err, tail(log, 4000))
		}
	}
	received := regexp.MustCompile(`(?s)^Received: from [^\n]*\n(?:[ \t][^\n]*\n)*`)
	check := func(run string, got [][]byte, want int) {
		t.Helper()
		if len(got) != want {
			t.Errorf("%s: mpop delivered %d messages, want %d", run, len(got), want)
		}
		for _, d := range got {
			m := toCRLF(received.ReplaceAll(d, nil))
			orig := toCRLF(byID[messageID(m)])
			if !bytes.HasSuffix(orig, []byte("\r\n")) {
				// POP3 ends the last line before "." (RFC 1939 §3):
				// a message without a final line break gets one, as
				// from Dovecot.
				orig = append(orig, '\r', '\n')
			}
			if !bytes.Equal(m, orig) {
				t.Errorf("%s: delivered message differs; %s", run, firstDiff(orig, m))
			}
		}
	}
	keep := conf("on")
	pop(keep)
	check("first keep run", delivered(t, out), len(byID))
	newMsg := []byte(testkit.Message("mpop-between-runs"))
	appendRaw(t, c, newMsg)
	byID[messageID(newMsg)] = newMsg
	pop(keep)
	check("second keep run (UIDL)", delivered(t, out), 1)
	pop(conf("off"))
	if n := inboxCount(t, c); n != 0 {
		t.Errorf("mpop with keep off left %d messages", n)
	}
	// The delete run fetches only what the UIDL file does not list
	// (nothing), and deletes everything it knows.
	check("delete run", delivered(t, out), 0)
}

// TestCurlPOP3 lists and retrieves with curl over implicit TLS and over
// STLS (--ssl-reqd), the certificate pinned.
func TestCurlPOP3(t *testing.T) {
	bin := needBinary(t, "curl", "curl")
	t.Parallel()
	s, _, byID := popServer(t)
	user := popUser + ":" + popPass
	list := run(t, time.Minute, "", bin, "-sS", "--cacert", s.CertFile(), "--resolve", "localhost:"+portOf(t, s.POP3TLSAddr)+":127.0.0.1",
		"--user", user, "pop3s://localhost:"+portOf(t, s.POP3TLSAddr)+"/")
	if n := strings.Count(list, "\n"); n != len(byID) {
		t.Errorf("curl LIST: %d lines for %d messages:\n%s", n, len(byID), list)
	}
	msg := run(t, time.Minute, "", bin, "-sS", "--ssl-reqd", "--cacert", s.CertFile(), "--resolve", "localhost:"+portOf(t, s.POP3Addr)+":127.0.0.1",
		"--user", user, "pop3://localhost:"+portOf(t, s.POP3Addr)+"/1")
	orig := toCRLF(byID[messageID([]byte(msg))])
	if !bytes.HasSuffix(orig, []byte("\r\n")) {
		orig = append(orig, '\r', '\n')
	}
	if msg != string(orig) {
		t.Errorf("curl RETR 1 over STLS: %s", firstDiff(orig, []byte(msg)))
	}
}

func portOf(t *testing.T, addr string) string {
	_, p := hostPort(t, addr)
	return p
}
