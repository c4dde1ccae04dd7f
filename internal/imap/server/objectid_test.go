package server_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
	"barid/internal/store"
)

// capture returns the first submatch of re in lines.
func capture(t *testing.T, lines []string, re string) string {
	t.Helper()
	r := regexp.MustCompile(re)
	for _, l := range lines {
		if m := r.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no line matches %q in:\n%s", re, strings.Join(lines, "\n"))
	return ""
}

// RFC 8474 §4, §5.1: a MAILBOXID survives RENAME and is never given to
// another mailbox (not even one re-created under the same name); an
// EMAILID survives COPY and MOVE and is found by SEARCH EMAILID in each
// mailbox; two deliveries of the same bytes are two messages with two
// EMAILIDs, as in Dovecot.
func TestObjectIDStable(t *testing.T) {
	ts := startServer(t)
	ts.addUser("olga", "pw")
	c := ts.dial()
	c.login("olga", "pw")
	fooID := capture(t, c.expectOK("a1", "CREATE foo"), `^a1 OK \[MAILBOXID \((F[0-9a-f]+)\)\]`)
	c.expectOK("a2", "RENAME foo renamed")
	if got := capture(t, c.expectOK("a3", "STATUS renamed (MAILBOXID)"), `MAILBOXID \((\w+)\)`); got != fooID {
		t.Fatalf("MAILBOXID after RENAME %s, was %s", got, fooID)
	}
	if got := capture(t, c.expectOK("a4", "EXAMINE renamed"), `^\* OK \[MAILBOXID \((\w+)\)\]`); got != fooID {
		t.Fatalf("EXAMINE MAILBOXID %s, want %s", got, fooID)
	}
	c.expectOK("a5", "CREATE foo")
	if got := capture(t, c.expectOK("a6", "STATUS foo (MAILBOXID)"), `MAILBOXID \((\w+)\)`); got == fooID {
		t.Fatalf("a new mailbox got the renamed one's MAILBOXID %s", got)
	}
	c.expectOK("a7", "DELETE foo")
	if got := capture(t, c.expectOK("a8", "CREATE foo"), `MAILBOXID \((\w+)\)`); got == fooID {
		t.Fatalf("re-created mailbox reuses MAILBOXID %s", got)
	}

	msg := "Subject: x\r\n\r\nbody\r\n"
	for _, tag := range []string{"b1", "b2"} {
		c.send(tag + " APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
		mustHave(t, c.until(tag), `^`+tag+` OK`)
	}
	c.expectOK("b3", "SELECT INBOX")
	lines := c.expectOK("b4", "FETCH 1:2 EMAILID")
	e1 := capture(t, lines, `^\* 1 FETCH \(EMAILID \((M[0-9a-f]+)\)\)`)
	e2 := capture(t, lines, `^\* 2 FETCH \(EMAILID \((M[0-9a-f]+)\)\)`)
	if e1 == e2 {
		t.Fatalf("two deliveries share EMAILID %s", e1)
	}
	c.expectOK("b0", "CREATE bar")
	c.expectOK("b5", "COPY 1 renamed")
	c.expectOK("b6", "MOVE 1 bar")
	mustHave(t, c.expectOK("b7", "SEARCH EMAILID "+e1), `^\* SEARCH$`)
	mustHave(t, c.expectOK("b8", "SEARCH EMAILID "+e2), `^\* SEARCH 1$`)
	for _, box := range []string{"renamed", "bar"} {
		c.expectOK("c1", "SELECT "+box)
		if got := capture(t, c.expectOK("c2", "FETCH 1 (EMAILID)"), `EMAILID \((\w+)\)`); got != e1 {
			t.Fatalf("%s: EMAILID %s after COPY/MOVE, want %s", box, got, e1)
		}
		mustHave(t, c.expectOK("c3", "UID SEARCH EMAILID "+e1), `^\* SEARCH 1$`)
		mustHave(t, c.expectOK("c4", "SEARCH NOT EMAILID "+e1), `^\* SEARCH$`)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// RFC 8970: a message stored before previews were computed at delivery
// has none; PREVIEW (LAZY) answers NIL, PREVIEW computes and stores it,
// and LAZY then has it.
func TestPreviewComputedOnFirstFetch(t *testing.T) {
	ts := startServer(t)
	acct := ts.addUser("pia", "pw")
	ctx := context.Background()
	d := ts.app.Data()
	raw := "Subject: old\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe aus\r\n  K=F6ln\r\n"
	w, err := d.Blobs.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(raw))
	id, _, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := msgdata.Analyze(strings.NewReader(raw), mime.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	mb, err := d.Store.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Store.AppendMessages(ctx, mb.ID, []store.NewMessage{{BlobID: id, Size: a.Size,
		InternalDate: time.Now(), Header: a.Header, Structure: a.Structure, Envelope: a.Envelope}}); err != nil {
		t.Fatal(err)
	}
	c := ts.dial()
	c.login("pia", "pw")
	c.expectOK("a1", "SELECT INBOX")
	mustHave(t, c.expectOK("a2", "FETCH 1 (PREVIEW (LAZY))"), `^\* 1 FETCH \(PREVIEW NIL\)$`)
	mustHave(t, c.expectOK("a3", "FETCH 1 (PREVIEW)"), `^\* 1 FETCH \(PREVIEW \{\d+\}\nGrüße aus Köln\)$`)
	mustHave(t, c.expectOK("a4", "FETCH 1 (PREVIEW (LAZY))"), `^\* 1 FETCH \(PREVIEW \{\d+\}\nGrüße aus Köln\)$`)
	c.expectOK("a5", "ENABLE UTF8=ACCEPT")
	mustHave(t, c.expectOK("a6", "FETCH 1 PREVIEW"), `^\* 1 FETCH \(PREVIEW "Grüße aus Köln"\)$`)
}
