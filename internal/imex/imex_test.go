package imex

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"barid/internal/blob/fs"
	"barid/internal/deliver"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

type env struct {
	st   store.Store
	im   *Importer
	acct *store.Account
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "barid.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bs, err := fs.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := st.CreateAccount(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateMailbox(ctx, acct.ID, "INBOX", ""); err != nil && !errors.Is(err, store.ErrMailboxExists) {
		t.Fatal(err)
	}
	d := &deliver.Deliverer{Store: st, Blobs: bs, Bus: notify.New(), InlineMax: 4096}
	// Tiny batches and one worker, so that the fixtures span several
	// transactions.
	return &env{st: st, acct: acct, im: &Importer{Store: st, Deliver: d, Account: acct, BatchMessages: 2, Workers: 1}}
}

type got struct {
	uid   store.UID
	flags string
	date  time.Time
	raw   string
}

func (e *env) mailbox(t *testing.T, name string) (*store.Mailbox, []got) {
	t.Helper()
	ctx := context.Background()
	mb, err := e.st.Mailbox(ctx, e.acct.ID, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	_, uids, err := e.st.MessageUIDs(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []got
	err = e.st.FetchMessages(ctx, mb.ID, uids, store.FieldFlags|store.FieldBasics, func(m *store.Message) error {
		raw, ok, err := e.st.(*sqlite.Store).OpenInline(ctx, m.BlobID)
		if err != nil || !ok {
			t.Errorf("message %d: inline bytes %v %v", m.UID, ok, err)
		}
		out = append(out, got{m.UID, strings.Join(m.Flags.Names(), " "), m.InternalDate, string(raw)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mb, out
}

// TestMaildirFixture imports testdata/maildir: a Dovecot uidlist (v3)
// with a file gone and a file not yet listed, keywords, the P flag and
// an unknown keyword letter, a v1 uidlist, folders without a uidlist,
// a modified UTF-7 name and subscriptions; twice.
func TestMaildirFixture(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := os.CopyFS(root, os.DirFS("testdata/maildir")); err != nil {
		t.Fatal(err)
	}
	// The fixture's file names spell ":" as "%3A" (Go module zips and
	// some file systems refuse colons).
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "%3A") {
			err = os.Rename(p, filepath.Join(filepath.Dir(p), strings.ReplaceAll(d.Name(), "%3A", ":")))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2021, 7, 8, 9, 10, 11, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "cur", "1600000002.M2P1.host,S=100,W=105:2,FRSab"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	ctx := context.Background()
	res, err := ImportMaildir(ctx, e.im, root)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*Result{}
	for _, r := range res {
		names[r.Mailbox] = r
	}
	if r := names["INBOX"]; r == nil || !r.UIDsKept || r.UIDValidity != 1234567 || r.Imported != 5 {
		t.Fatalf("INBOX result %+v", r)
	}
	mb, msgs := e.mailbox(t, "INBOX")
	if mb.UIDValidity != 1234567 || mb.UIDNext != 13 {
		t.Errorf("INBOX UIDVALIDITY %d UIDNEXT %d, want 1234567 13", mb.UIDValidity, mb.UIDNext)
	}
	want := []struct {
		uid   store.UID
		flags string
	}{
		{1, `\Seen`},
		{2, `\Seen \Answered \Flagged $Label1 Work`},
		{4, `\Deleted \Draft $Junk`},
		{9, ``},       // new/: no flags
		{12, `\Seen`}, // not in the uidlist: the next UID; letter z has no keyword
	}
	if len(msgs) != len(want) {
		t.Fatalf("INBOX has %d messages, want %d: %+v", len(msgs), len(want), msgs)
	}
	for i, w := range want {
		if msgs[i].uid != w.uid || msgs[i].flags != w.flags {
			t.Errorf("INBOX #%d: UID %d flags %q, want %d %q", i, msgs[i].uid, msgs[i].flags, w.uid, w.flags)
		}
	}
	if !msgs[1].date.Equal(mtime) {
		t.Errorf("internal date %v, want the file's mtime %v", msgs[1].date, mtime)
	}
	if !strings.Contains(msgs[1].raw, "Subject: m2\n") {
		t.Errorf("bytes of UID 2: %q", msgs[1].raw)
	}
	mb, msgs = e.mailbox(t, "Work/Projects")
	if mb.UIDValidity != 1700000000 || mb.UIDNext != 3 || len(msgs) != 2 || msgs[0].flags != `\Seen` || msgs[1].uid != 2 || msgs[1].flags != "" {
		t.Errorf("Work/Projects (v1 uidlist): %+v %+v", mb, msgs)
	}
	if _, err := e.st.Mailbox(ctx, e.acct.ID, "Work"); err != nil {
		t.Errorf("parent Work not created: %v", err)
	}
	_, msgs = e.mailbox(t, "Ärger")
	if len(msgs) != 1 {
		t.Errorf("Ärger: %+v", msgs)
	}
	if r := names["Courier"]; r == nil || r.UIDsKept {
		t.Errorf("Courier (no uidlist) result %+v", r)
	}
	_, msgs = e.mailbox(t, "Courier")
	if len(msgs) != 2 || msgs[0].flags != `\Seen` || msgs[1].flags != `\Answered` {
		t.Errorf("Courier: messages in name order: %+v", msgs)
	}
	subs, err := e.st.Subscriptions(ctx, e.acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(subs)
	if !slices.Equal(subs, []string{"INBOX", "Work/Projects", "Ärger"}) {
		t.Errorf("subscriptions %q", subs)
	}

	// Again: nothing new, whether by UID or by content.
	res, err = ImportMaildir(ctx, e.im, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Imported != 0 {
			t.Errorf("second import added %d to %s", r.Imported, r.Mailbox)
		}
	}
	if _, msgs := e.mailbox(t, "Courier"); len(msgs) != 2 {
		t.Errorf("Courier after the second import: %d messages", len(msgs))
	}
}

// TestImportResumes: an import cut off after its first batch resumes
// where it stopped (by UID), without duplicates.
func TestImportResumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msg := func(i int) *Message {
		body := []byte("Subject: " + strings.Repeat("x", i) + "\n\nbody\n")
		return &Message{UID: store.UID(10 + 3*i), Flags: store.FlagsFromNames([]string{"k" + string(rune('a'+i))}),
			Open: func() (io.ReadCloser, time.Time, error) {
				return io.NopCloser(bytes.NewReader(body)), time.Unix(1e9, 0), nil
			}}
	}
	folder := func(stopAfter int) Folder {
		return Folder{Name: "Resumed", UIDValidity: 777, UIDNext: 100, Messages: func(floor store.UID, yield func(*Message) error) error {
			for i := range 7 {
				if stopAfter >= 0 && i == stopAfter {
					return context.Canceled
				}
				if err := yield(msg(i)); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	// The source fails at the 5th message: two batches of 2 commit.
	r, err := e.im.ImportFolder(ctx, folder(4))
	if err == nil || r.Imported != 4 {
		t.Fatalf("interrupted run: %+v %v", r, err)
	}
	mb, msgs := e.mailbox(t, "Resumed")
	if len(msgs) != 4 || mb.UIDNext != 20 {
		t.Fatalf("after the interruption: %d messages, UIDNEXT %d", len(msgs), mb.UIDNext)
	}
	r, err = e.im.ImportFolder(ctx, folder(-1))
	if err != nil || r.Imported != 3 || r.Skipped != 4 {
		t.Fatalf("resumed run: %+v %v", r, err)
	}
	mb, msgs = e.mailbox(t, "Resumed")
	if len(msgs) != 7 || mb.UIDNext != 100 || mb.UIDValidity != 777 || msgs[6].uid != 28 || msgs[6].flags != "kg" {
		t.Fatalf("after resuming: UIDNEXT %d, %+v", mb.UIDNext, msgs)
	}
}

// TestMboxFixture reads testdata/mbox/sample.mbox: mboxrd unquoting,
// the hidden headers' flags (continuation lines too), From_ dates with
// and without a zone, a message without a body, CRLF lines.
func TestMboxFixture(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, err := ImportMbox(ctx, e.im, "testdata/mbox/sample.mbox", "Old/Mail")
	if err != nil || r.Imported != 4 {
		t.Fatalf("import: %+v %v", r, err)
	}
	_, msgs := e.mailbox(t, "Old/Mail")
	want := []got{
		{1, `\Seen \Answered \Flagged $Label1 Work`, time.Date(2020, 3, 2, 10, 0, 0, 0, time.UTC),
			"From: alice@example.org\nSubject: one\n\nFirst line.\nFrom the quoted line.\n>From a doubly quoted one.\n"},
		{2, `Multi NonJunk`, time.Date(2020, 3, 3, 11, 30, 0, 0, time.FixedZone("", 3600)),
			"From: bob@example.org\nSubject: two\n\nSecond.\n"},
		{3, ``, time.Date(2020, 3, 4, 12, 0, 0, 0, time.UTC), "Subject: no body\n"},
		{4, `\Draft`, time.Date(2020, 3, 5, 13, 0, 0, 0, time.UTC), "Subject: crlf\r\n\r\nBody\r\n"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	for i, w := range want {
		g := msgs[i]
		if g.uid != w.uid || g.flags != w.flags || !g.date.Equal(w.date) || g.raw != w.raw {
			t.Errorf("message %d:\n got %d %q %v %q\nwant %d %q %v %q", i+1, g.uid, g.flags, g.date, g.raw, w.uid, w.flags, w.date, w.raw)
		}
	}
	// Again: matched by content, nothing added.
	r, err = ImportMbox(ctx, e.im, "testdata/mbox/sample.mbox", "Old/Mail")
	if err != nil || r.Imported != 0 || r.Skipped != 4 {
		t.Fatalf("second import: %+v %v", r, err)
	}
}

// TestMboxO: with mboxo quoting only ">From " loses its ">".
func TestMboxO(t *testing.T) {
	in := "From a Mon Mar  2 10:00:00 2020\nS: 1\n\n>From x\n>>From y\n"
	r := NewMboxReader(strings.NewReader(in))
	r.Quoting = MboxO
	m, err := r.Next()
	if err != nil || string(m.Raw) != "S: 1\n\nFrom x\n>>From y\n" {
		t.Fatalf("%q %v", m.Raw, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last message: %v", err)
	}
	if _, err := NewMboxReader(strings.NewReader("Subject: not an mbox\n")).Next(); err == nil || err == io.EOF {
		t.Fatalf("a file without a From_ line: %v", err)
	}
}

// TestMboxWriteRead: what writeMboxMessage writes, the reader returns
// (LF line ends, flags in headers, quoting).
func TestMboxWriteRead(t *testing.T) {
	msgs := []string{
		"Subject: a\r\n\r\nFrom here\r\n>From there\r\nend\r\n",
		"Subject: b\n\n\n\nblank lines\n\n",
		"Subject: header only\n",
	}
	flags := []store.Flags{
		store.FlagsFromNames([]string{`\Seen`, `\Answered`, "$Label1"}),
		store.FlagsFromNames([]string{`\Flagged`, `\Deleted`, `\Draft`}),
		{},
	}
	var buf bytes.Buffer
	for i, m := range msgs {
		buf.WriteString("From MAILER-DAEMON Mon Mar  2 10:00:00 2020\n")
		w := newBufWriter(&buf)
		if err := writeMboxMessage(w, strings.NewReader(m), flags[i], ""); err != nil {
			t.Fatal(err)
		}
		w.Flush()
	}
	r := NewMboxReader(&buf)
	wantRaw := []string{
		"Subject: a\n\nFrom here\n>From there\nend\n",
		"Subject: b\n\n\n\nblank lines\n\n",
		"Subject: header only\n",
	}
	for i := range msgs {
		m, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Raw) != wantRaw[i] || !m.Flags.Equal(flags[i]) {
			t.Errorf("message %d: %q %v, want %q %v", i, m.Raw, m.Flags.Names(), wantRaw[i], flags[i].Names())
		}
	}
}

func TestUidlistParse(t *testing.T) {
	for _, c := range []struct {
		line string
		want Uidlist
		ok   bool
	}{
		{"3 V1234 N56 G0123abcd", Uidlist{3, 1234, 56}, true},
		{"1 1234 56", Uidlist{1, 1234, 56}, true},
		{"3 Vx N1", Uidlist{}, false},
		{"9 V1", Uidlist{}, false},
		{"", Uidlist{}, false},
	} {
		u, err := parseUidlistHeader(c.line)
		if (err == nil) != c.ok || (c.ok && u != c.want) {
			t.Errorf("%q: %+v %v", c.line, u, err)
		}
	}
	for _, c := range []struct {
		line, name string
		uid        store.UID
		version    int
	}{
		{"7 :123.M1.host,S=5", "123.M1.host,S=5", 7, 3},
		{"8 S5 W6 :123.M2.host:2,S", "123.M2.host", 8, 3},
		{"9 123.M3.host", "123.M3.host", 9, 1},
	} {
		uid, name, err := parseUidlistLine(c.line, c.version)
		if err != nil || uid != c.uid || name != c.name {
			t.Errorf("%q: %d %q %v", c.line, uid, name, err)
		}
	}
	for _, bad := range []string{"0 :x", "x :y", "5", "5 S1 W2"} {
		if _, _, err := parseUidlistLine(bad, 3); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMaildirNames(t *testing.T) {
	for dir, want := range map[string]string{
		".Sent": "Sent", ".Work.Projects": "Work/Projects", ".&AMQ-rger": "Ärger", ".INBOX.sub": "INBOX/sub", ".inbox.x": "INBOX/x",
	} {
		got, err := MaildirName(dir)
		if err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", dir, got, err, want)
		}
		if want != "INBOX/x" && MaildirDirName(got) != dir {
			t.Errorf("MaildirDirName(%q) = %q, want %q", got, MaildirDirName(got), dir)
		}
	}
	for _, bad := range []string{".a..b", ".&-bad&", "."} {
		if _, err := MaildirName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzMboxReader(f *testing.F) {
	if b, err := os.ReadFile("testdata/mbox/sample.mbox"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("From a b\n\n"))
	f.Add([]byte("From \nX-Keywords: a\n b\n\n>>>From x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewMboxReader(bytes.NewReader(data))
		r.MaxSize = 1 << 16
		var total int
		for range 10000 {
			m, err := r.Next()
			if err != nil {
				break
			}
			total += len(m.Raw)
		}
		if total > len(data) {
			t.Fatalf("%d bytes of messages from %d bytes", total, len(data))
		}
	})
}

func FuzzUidlist(f *testing.F) {
	f.Add("3 V1234 N56 G0123abcd", "8 S5 W6 :123.M2.host:2,S")
	f.Add("1 1 2", "9 123.M3.host")
	f.Fuzz(func(t *testing.T, header, line string) {
		u, err := parseUidlistHeader(header)
		if err != nil {
			return
		}
		uid, name, err := parseUidlistLine(line, u.Version)
		if err == nil && (uid == 0 || name == "" || strings.Contains(name, ":")) {
			t.Fatalf("%q gave UID %d name %q", line, uid, name)
		}
	})
}

func FuzzMaildirName(f *testing.F) {
	for _, s := range []string{".Sent", ".A.B", ".&AMQ-rger", ".INBOX.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dir string) {
		name, err := MaildirName(dir)
		if err != nil {
			return
		}
		if name == "" || strings.Contains(name, "//") {
			t.Fatalf("%q -> %q", dir, name)
		}
		MaildirDirName(name)
	})
}

func newBufWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }

// TestMboxDovecotUIDs reads an mbox Dovecot kept: the internal-data
// message (X-IMAP) gives UIDVALIDITY and UIDNEXT and is not imported,
// X-UID gives UIDs; a message without one, or with one out of order,
// gets the next free UID. A second run adds nothing.
func TestMboxDovecotUIDs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for run := range 2 {
		r, err := ImportMbox(ctx, e.im, "testdata/mbox/dovecot.mbox", "Kept")
		if err != nil || !r.UIDsKept || r.UIDValidity != 1583139600 || r.Imported != 4*(1-run) {
			t.Fatalf("run %d: %+v %v", run, r, err)
		}
	}
	mb, msgs := e.mailbox(t, "Kept")
	var uids []store.UID
	for _, m := range msgs {
		uids = append(uids, m.uid)
		if strings.Contains(m.raw, "INTERNAL DATA") || strings.Contains(m.raw, "\nX-UID:") {
			t.Errorf("UID %d: %q", m.uid, m.raw)
		}
	}
	if !slices.Equal(uids, []store.UID{5, 9, 20, 21}) || mb.UIDNext != 22 || msgs[1].flags != "$Label1" {
		t.Fatalf("UIDs %v UIDNEXT %d flags %q", uids, mb.UIDNext, msgs[1].flags)
	}
}

// TestImportThreads: an import threads what it stores as a delivery
// does (RFC 8474 THREADID): messages of one batch with each other, a
// folder imported later with the earlier ones, a reply imported before
// its parent with it.
func TestImportThreads(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	mbox := func(name string, msgs ...string) string {
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString("From sender@example.org Mon Mar  2 10:00:00 2020\n" + m + "\n")
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Batches of two (newEnv): the reply to r1 shares a batch with it;
	// the reply to the parent comes before the parent.
	first := mbox("first", "Message-ID: <r1@x>\nIn-Reply-To: <p@x>\nSubject: r1\n\nr1\n",
		"Message-ID: <r2@x>\nReferences: <p@x> <r1@x>\nSubject: r2\n\nr2\n",
		"Message-ID: <u@x>\nSubject: u\n\nu\n")
	second := mbox("second", "Message-ID: <p@x>\nSubject: p\n\np\n")
	for _, f := range []struct{ path, folder string }{{first, "Lists"}, {second, "Archive"}} {
		if r, err := ImportMbox(ctx, e.im, f.path, f.folder); err != nil || r.Imported == 0 {
			t.Fatalf("import %s: %+v %v", f.folder, r, err)
		}
	}
	threads := func(name string) []int64 {
		mb, _ := e.mailbox(t, name)
		_, uids, err := e.st.MessageUIDs(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		err = e.st.FetchMessages(ctx, mb.ID, uids, store.FieldBasics, func(m *store.Message) error {
			out = append(out, m.ThreadID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	l, a := threads("Lists"), threads("Archive")
	if len(l) != 3 || len(a) != 1 || l[0] == 0 || l[0] != l[1] || l[0] != a[0] || l[2] == l[0] {
		t.Fatalf("threads: Lists %v, Archive %v; want r1, r2 and p in one, u apart", l, a)
	}
}
