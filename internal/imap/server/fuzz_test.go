package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// panicDetector counts log records about panics: the connection
// boundary recovers them (docs/style.md §4), so the fuzz targets look in the
// log.
type panicDetector struct{ n *atomic.Int64 }

func (p panicDetector) Enabled(context.Context, slog.Level) bool { return true }
func (p panicDetector) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.n.Add(1)
	}
	return nil
}
func (p panicDetector) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p panicDetector) WithGroup(string) slog.Handler      { return p }

var stateSetups = map[string][]string{
	"notauth":  nil,
	"authed":   {"s1 LOGIN fuzz fuzz"},
	"selected": {"s1 LOGIN fuzz fuzz", "s2 SELECT INBOX"},
}

var commandSeeds = []string{
	"a CAPABILITY\r\n",
	// RFC 4314 ACL commands and RFC 8440 LIST RETURN (MYRIGHTS).
	"a SETACL INBOX anyone +lr\r\n",
	"a SETACL INBOX -$grp \"\"\r\n",
	"a DELETEACL INBOX anyone\r\n",
	"a GETACL \"Other Users/x/INBOX\"\r\n",
	"a LISTRIGHTS INBOX fuzz\r\n",
	"a MYRIGHTS Shared/x\r\n",
	"a LIST \"\" * RETURN (MYRIGHTS STATUS (MESSAGES))\r\n",
	"a LOGIN fuzz fuzz\r\n",
	"a AUTHENTICATE PLAIN AGZ1enoAZnV6eg==\r\n",
	"a AUTHENTICATE SCRAM-SHA-256\r\n*\r\n",
	"a ID (\"name\" \"x\")\r\n",
	"a ENABLE IMAP4rev2 CONDSTORE\r\n",
	"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"*\" \"%\") RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
	"a CREATE x/y/\r\na RENAME x z\r\na DELETE z\r\n",
	"a STATUS INBOX (MESSAGES UIDNEXT UNSEEN SIZE)\r\n",
	"a STATUS INBOX (MAILBOXID)\r\na CREATE s (USE (\\Sent))\r\n",
	"a FETCH 1:* (EMAILID THREADID PREVIEW (LAZY))\r\na SEARCH EMAILID M1 THREADID T1\r\n",
	"a REPLACE 1 INBOX (\\Seen) {12+}\r\nSubject: x\r\n\r\n",
	"a UNAUTHENTICATE\r\n",
	"a COMPRESS DEFLATE\r\n",
	"a APPEND INBOX (\\Seen $x) \"05-Jan-2026 10:00:00 +0100\" {12+}\r\nSubject: x\r\n\r\n",
	"a APPEND INBOX {3}\r\n",
	"a SELECT INBOX (CONDSTORE)\r\n",
	"a FETCH 1:* (UID FLAGS BODYSTRUCTURE BODY.PEEK[1.2.HEADER.FIELDS (A B)]<0.5> BINARY[1] BINARY.SIZE[1])\r\n",
	"a UID FETCH 1:* (ENVELOPE) (CHANGEDSINCE 1)\r\n",
	"a STORE 1 +FLAGS (\\Deleted)\r\na EXPUNGE\r\n",
	"a UID STORE 1:* (UNCHANGEDSINCE 5) FLAGS.SILENT (a b)\r\n",
	"a SEARCH RETURN (SAVE MIN) CHARSET UTF-8 OR (FROM x SUBJECT \"y\") NOT SINCE 1-Jan-2020\r\na UID COPY $ Trash\r\n",
	"a UID MOVE 1:* Archive\r\n",
	"a IDLE\r\nDONE\r\n",
	"a NOOP\r\na CHECK\r\na CLOSE\r\n",
	"a UNSELECT\r\n",
	"\x16\x03\x01\x00",
	"GET / HTTP/1.1\r\n",
	"a SEARCH ((((((((ALL))))))))\r\n",
	"a NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge FlagChange)) (personal (MailboxName SubscriptionChange))\r\na CREATE n\r\na NOOP\r\na NOTIFY NONE\r\n",
	"a NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (subtree (INBOX {1+}\r\nx) (AnnotationChange))\r\n",
	"a ENABLE IMAP4rev2\r\na CREATE inbox/x/\r\na RENAME inbox/x \"y/z\"\r\na RENAME INBOX old\r\n",
	"a ESEARCH IN (mailboxes (INBOX x) subtree-one \"a/b\" subscribed personal inboxes selected) RETURN (MIN MAX COUNT ALL SAVE) CHARSET UTF-8 OR 1:* UID $ TEXT x\r\na ESEARCH IN (personal (depth 1)) ALL\r\n",
	"a ENABLE UIDONLY QRESYNC\r\na FETCH 1 FLAGS\r\na UID SEARCH NOT (1:* SEEN)\r\na UID FETCH 1:* (UID FLAGS)\r\na SELECT INBOX (QRESYNC (1 1 1:* (1:2 1:2)))\r\n",
}

func fuzzState(f *testing.F, state string) {
	for _, s := range commandSeeds {
		f.Add([]byte(s))
	}
	var panics atomic.Int64
	ts := startServerLog(f, f.TempDir(), panicDetector{&panics})
	ts.addUser("fuzz", "fuzz")
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		var in strings.Builder
		for _, s := range stateSetups[state] {
			in.WriteString(s + "\r\n")
		}
		in.Write(data)
		in.WriteString("\r\nzz LOGOUT\r\n")
		go func() {
			io.WriteString(nc, in.String())
			// End of input: a command waiting for a literal ends too.
			nc.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(io.Discard, nc)
		if n := panics.Load(); n > 0 {
			t.Fatalf("server panicked %d times on input %q", n, data)
		}
		// The server must still answer a fresh client.
		c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("server stopped accepting: %v", err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "* OK " {
			t.Fatalf("no greeting after input %q: %v %q", data, err, buf)
		}
		c.Close()
	})
}

// Fuzz targets for every command in each connection state (docs/style.md §11).
func FuzzCommandsNotAuthenticated(f *testing.F) { fuzzState(f, "notauth") }
func FuzzCommandsAuthenticated(f *testing.F)    { fuzzState(f, "authed") }
func FuzzCommandsSelected(f *testing.F)         { fuzzState(f, "selected") }
