package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"barid/internal/blob/s3/s3test"
	"barid/internal/store/postgres/pgtest"
	"barid/internal/testkit"
)

// boxSnap is what a caching IMAP client keeps of a mailbox.
type boxSnap struct {
	UIDValidity uint32
	UIDNext     imap.UID
	HMS         uint64
	Msgs        []string // UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ sha of BODY[]
}

type acctSnap struct {
	Vanished string // INBOX: SELECT (QRESYNC (uidvalidity 1)), RFC 7162 §3.2.5
	Boxes    map[string]boxSnap
	LSUB     []string
	List     []string // LIST RETURN (SPECIAL-USE) lines
}

func imapDial(t *testing.T, addr, user, pass string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// scSnapshot reads an account over IMAP as a client that caches would.
func scSnapshot(t *testing.T, s *testkit.Server, user, pass string) acctSnap {
	t.Helper()
	c := imapDial(t, s.Addr, user, pass)
	defer c.Close()
	out := acctSnap{Boxes: map[string]boxSnap{}}
	list, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		attrs := make([]string, len(l.Attrs))
		for i, a := range l.Attrs {
			attrs[i] = strings.ToLower(string(a))
		}
		sort.Strings(attrs)
		out.List = append(out.List, l.Mailbox+" "+strings.Join(attrs, ","))
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true, CondStore: true}).Wait()
		if err != nil {
			t.Fatalf("SELECT %s: %v", l.Mailbox, err)
		}
		b := boxSnap{UIDValidity: sel.UIDValidity, UIDNext: sel.UIDNext, HMS: sel.HighestModSeq}
		if sel.NumMessages > 0 {
			var all imap.UIDSet
			all.AddRange(1, 0)
			ms, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true, ModSeq: true,
				BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				t.Fatalf("FETCH %s: %v", l.Mailbox, err)
			}
			sort.Slice(ms, func(i, j int) bool { return ms[i].UID < ms[j].UID })
			for _, m := range ms {
				fl := make([]string, len(m.Flags))
				for i, f := range m.Flags {
					fl[i] = strings.ToLower(string(f))
				}
				sort.Strings(fl)
				var body []byte
				if len(m.BodySection) > 0 {
					body = m.BodySection[0].Bytes
				}
				if int64(len(body)) != m.RFC822Size {
					t.Fatalf("%s UID %d: RFC822.SIZE %d but BODY[] has %d bytes", l.Mailbox, m.UID, m.RFC822Size, len(body))
				}
				b.Msgs = append(b.Msgs, fmt.Sprintf("%d (%s) %s %d %d %x", m.UID, strings.Join(fl, " "),
					m.InternalDate.UTC().Format(time.RFC3339), m.RFC822Size, m.ModSeq, bodyHash(body)))
			}
		}
		out.Boxes[l.Mailbox] = b
	}
	raw := s.Dial()
	raw.Login(user, pass)
	raw.ExpectOK("q1", "ENABLE QRESYNC")
	for _, l := range raw.ExpectOK("q2", fmt.Sprintf("EXAMINE INBOX (QRESYNC (%d 1))", out.Boxes["INBOX"].UIDValidity)) {
		if strings.HasPrefix(l, "* VANISHED") {
			out.Vanished = l
		}
	}
	raw.ExpectOK("q3", "LOGOUT")
	lsub, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lsub {
		out.LSUB = append(out.LSUB, l.Mailbox)
	}
	sort.Strings(out.LSUB)
	sort.Strings(out.List)
	return out
}

func bodyHash(b []byte) []byte {
	// Short and exact enough to compare: the bytes themselves for
	// small messages, length and both ends for big ones.
	if len(b) <= 64 {
		return b
	}
	return append(append([]byte(fmt.Sprint(len(b))), b[:32]...), b[len(b)-32:]...)
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func scAppend(t *testing.T, c *imapclient.Client, box, body string, date time.Time, flags ...imap.Flag) {
	t.Helper()
	cmd := c.Append(box, int64(len(body)), &imap.AppendOptions{Flags: flags, Time: date})
	if _, err := cmd.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	must0(t, cmd.Close())
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("APPEND %s: %v", box, err)
	}
}

// scPopulate fills the source: two accounts, a renamed mailbox, flags and
// keywords, expunged gaps (also at the end of a mailbox), a message too
// big to be kept inline, subscriptions of an existing and a missing
// mailbox, special-use mailboxes, and flag changes after delivery.
func scPopulate(t *testing.T, s *testkit.Server) {
	t.Helper()
	d0 := time.Date(2024, 3, 1, 9, 30, 0, 0, time.FixedZone("", 2*3600))
	for _, user := range []string{"alice", "bob"} {
		c := imapDial(t, s.Addr, user, "pw-"+user)
		must0(t, c.Create("Keep", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrArchive}}).Wait())
		must0(t, c.Create("Old", nil).Wait())
		must0(t, c.Create("Work/Projects", nil).Wait())
		for i := range 12 {
			body := fmt.Sprintf("From: a@example.org\r\nTo: %s@example.org\r\nSubject: m%d\r\nDate: Fri, 1 Mar 2024 09:30:00 +0200\r\n\r\nbody %d of %s\r\n", user, i, i, user)
			flags := []imap.Flag{}
			switch i % 4 {
			case 0:
				flags = append(flags, imap.FlagSeen)
			case 1:
				flags = append(flags, imap.FlagFlagged, "$Label1")
			case 2:
				flags = append(flags, "Work", imap.FlagAnswered)
			}
			scAppend(t, c, "INBOX", body, d0.Add(time.Duration(i)*time.Hour), flags...)
			scAppend(t, c, "Old", body, d0.Add(time.Duration(i)*time.Minute))
		}
		big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef", 100<<10/16) + "\r\n"
		scAppend(t, c, "Work/Projects", big, d0, imap.FlagDraft)
		scAppend(t, c, "Sent", "Subject: sent\r\n\r\nhi\r\n", d0, imap.FlagSeen)
		must0(t, c.Rename("Old", "Archive/2024", nil).Wait())
		must0(t, c.Subscribe("INBOX").Wait())
		must0(t, c.Subscribe("Archive/2024").Wait())
		must0(t, c.Subscribe("Gone").Wait())
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		var gaps, tail imap.UIDSet
		gaps.AddNum(3, 4, 8)
		tail.AddNum(12)
		var both imap.UIDSet
		both.AddNum(3, 4, 8, 12)
		must0(t, c.Store(both, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
		// Two expunges: gaps inside, then the highest UID (UIDNEXT
		// stays past it).
		if _, err := c.UIDExpunge(gaps).Collect(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UIDExpunge(tail).Collect(); err != nil {
			t.Fatal(err)
		}
		var some imap.UIDSet
		some.AddNum(1, 5)
		must0(t, c.Store(some, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{"$Forwarded", imap.FlagDeleted}}, nil).Close())
		c.Close()
	}
}

func runCopy(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"store", "copy", "--quiet"}, args...), nil, &out, &errb); code != 0 {
		t.Fatalf("barid store copy %v: exit %d\n%s%s", args, code, out.String(), errb.String())
	}
	return out.String()
}

func compareSnaps(t *testing.T, what string, src, dst acctSnap) {
	t.Helper()
	if src.Vanished != dst.Vanished || src.Vanished == "" {
		t.Errorf("%s: INBOX QRESYNC %q, source %q", what, dst.Vanished, src.Vanished)
	}
	if !slices.Equal(src.LSUB, dst.LSUB) {
		t.Errorf("%s: LSUB %v, source %v", what, dst.LSUB, src.LSUB)
	}
	if !slices.Equal(src.List, dst.List) {
		t.Errorf("%s: LIST %v, source %v", what, dst.List, src.List)
	}
	for name, sb := range src.Boxes {
		db, ok := dst.Boxes[name]
		if !ok {
			t.Errorf("%s: no mailbox %q", what, name)
			continue
		}
		if db.UIDValidity != sb.UIDValidity || db.UIDNext != sb.UIDNext {
			t.Errorf("%s %s: UIDVALIDITY %d UIDNEXT %d, source %d %d", what, name, db.UIDValidity, db.UIDNext, sb.UIDValidity, sb.UIDNext)
		}
		// RFC 7162 §3.1: the client's cached HIGHESTMODSEQ must stay valid.
		if db.HMS < sb.HMS {
			t.Errorf("%s %s: HIGHESTMODSEQ %d below the source's %d", what, name, db.HMS, sb.HMS)
		}
		if !slices.Equal(db.Msgs, sb.Msgs) {
			t.Errorf("%s %s: messages\n%s\nsource\n%s", what, name, strings.Join(db.Msgs, "\n"), strings.Join(sb.Msgs, "\n"))
		}
	}
}

func testStoreCopy(t *testing.T, blobsURL string) {
	srcDir := t.TempDir()
	src := testkit.StartAt(t, srcDir, testkit.WithMetadata(""))
	src.AddUser("alice", "pw-alice")
	src.AddUser("bob", "pw-bob")
	scPopulate(t, src)
	want := map[string]acctSnap{"alice": scSnapshot(t, src, "alice", "pw-alice"), "bob": scSnapshot(t, src, "bob", "pw-bob")}
	if b := want["alice"].Boxes["INBOX"]; b.UIDNext != 13 || len(b.Msgs) != 8 {
		t.Fatalf("source INBOX not as populated: UIDNEXT %d, %d messages", b.UIDNext, len(b.Msgs))
	}

	// Refused while the source server runs.
	db := pgtest.Database(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"store", "copy", "--quiet", "--data", srcDir, "--to-metadata", db, "--to-blobs", blobsURL}, nil, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), "server is running") {
		t.Fatalf("copy with the source server running: exit %d, %s", code, errb.String())
	}
	src.Stop()

	// One account first, then all: alice is skipped as complete.
	o1 := runCopy(t, "--data", srcDir, "--to-metadata", db, "--to-blobs", blobsURL, "alice")
	o2 := runCopy(t, "--data", srcDir, "--to-metadata", db, "--to-blobs", blobsURL)
	if !strings.Contains(o1, "accounts: 1 copied") || !strings.Contains(o2, "accounts: 1 copied, 1 already there") {
		t.Fatalf("first runs:\n%s\n%s", o1, o2)
	}
	dst := testkit.Start(t, testkit.WithMetadata(db), testkit.WithBlobs(blobsURL))
	got := map[string]acctSnap{}
	for _, u := range []string{"alice", "bob"} {
		got[u] = scSnapshot(t, dst, u, "pw-"+u) // the same password logs in
		compareSnaps(t, u, want[u], got[u])
	}
	dst.Stop()

	// Again: nothing copied, nothing changed.
	o3 := runCopy(t, "--data", srcDir, "--to-metadata", db, "--to-blobs", blobsURL)
	if !strings.Contains(o3, "accounts: 0 copied, 2 already there") || !strings.Contains(o3, "messages: 0 copied") {
		t.Fatalf("second run:\n%s", o3)
	}
	dst2 := testkit.Start(t, testkit.WithMetadata(db), testkit.WithBlobs(blobsURL))
	for _, u := range []string{"alice", "bob"} {
		again := scSnapshot(t, dst2, u, "pw-"+u)
		compareSnaps(t, u+" after a second copy", got[u], again)
		for name, b := range got[u].Boxes {
			if again.Boxes[name].HMS != b.HMS {
				t.Errorf("%s %s: HIGHESTMODSEQ %d after the second copy, %d after the first", u, name, again.Boxes[name].HMS, b.HMS)
			}
		}
	}
}

// TestStoreCopyPostgres copies a populated SQLite store into PostgreSQL
// with blobs in a folder (file://) and compares both over IMAP.
func TestStoreCopyPostgres(t *testing.T) {
	testStoreCopy(t, "file://"+filepath.Join(t.TempDir(), "blobs"))
}

// TestStoreCopyPostgresS3 is the same with the bytes in S3.
func TestStoreCopyPostgresS3(t *testing.T) {
	testStoreCopy(t, s3test.URL(t))
}
