package interop

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

const mbsyncUser, mbsyncPass = "sync@example.org", "mbsync secret"

// mbsyncConfig writes an mbsyncrc for a two-way sync of every folder
// between barid and a Maildir, over IMAPS (certificate pinned) or, with
// starttls, over STARTTLS with LOGIN instead of SASL.
func mbsyncConfig(t *testing.T, s *server, dir, version, user, pass string, starttls bool) string {
	t.Helper()
	// QUIRK(isync 1.4.4): the TLS keyword is SSLType; TLSType only exists
	// from isync 1.5 on (which still reads SSLType as a deprecated alias).
	tlsKeyword := "SSLType"
	if v := strings.TrimPrefix(version, "isync "); v >= "1.5" {
		tlsKeyword = "TLSType"
	}
	host, port := hostPort(t, s.tlsAddr)
	// IMAPS insists on SCRAM-SHA-256 (Cyrus SASL's scram plugin, Debian's
	// libsasl2-modules, which .ci/run installs): mbsync would otherwise
	// fall back to LOGIN where the plugin is missing, and the SCRAM
	// server would go untested by a client nobody here wrote.
	mode, auth := "IMAPS", "AuthMechs SCRAM-SHA-256\n"
	if starttls {
		host, port = hostPort(t, s.addr)
		mode, auth = "STARTTLS", "AuthMechs LOGIN\n"
	}
	mail := filepath.Join(dir, "mail")
	cfg := fmt.Sprintf(`IMAPAccount barid
Host %s
Port %s
User %s
Pass "%s"
%s %s
CertificateFile %s
%sTimeout 30

IMAPStore remote
Account barid

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel barid
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
CopyArrivalDate yes
SyncState *
`, host, port, user, pass, tlsKeyword, mode, s.certFile(), auth, mail, mail)
	p := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// xTUID matches the header field mbsync adds to every message it
// propagates.
var xTUID = regexp.MustCompile(`(?m)^X-TUID: [A-Za-z0-9+/]{12}\r?\n`)

// stripTUID removes one X-TUID field, which must be the last field of
// the header, and reports whether there was one.
//
// QUIRK(isync 1.4.4): mbsync inserts "X-TUID: <12 chars>" as the last
// header field of every message it copies to the other side (it uses it
// to find the copy when the server gives no APPENDUID), even though
// barid announces UIDPLUS. The copy barid stores therefore differs from
// the Maildir file by exactly that line; everything else is byte-equal.
func stripTUID(b []byte, crlf bool) ([]byte, bool) {
	sep := []byte("\n\n")
	if crlf {
		sep = []byte("\r\n\r\n")
	}
	end := bytes.Index(b, sep)
	if end < 0 {
		return b, false
	}
	head := b[:end+len(sep)/2]
	loc := xTUID.FindIndex(head)
	if loc == nil || loc[1] != len(head) {
		return b, false
	}
	return slices.Concat(b[:loc[0]], b[loc[1]:]), true
}

// mbsyncView reduces both sides to folder -> entries, comparing message
// bytes as barid serves them: Maildir files are converted LF -> CRLF
// (QUIRK(isync 1.4.4): Maildir files are stored with LF line endings;
// mbsync converts in both directions) and X-TUID lines are removed.
// Every message must also be one the test knows (the corpus or a later
// addition), so a byte changed on both sides is still caught.
func mbsyncView(t *testing.T, c *account, mail string, known map[string]bool) (srv, local map[string][]entry) {
	t.Helper()
	srv, local = map[string][]entry{}, map[string][]entry{}
	for f, ms := range serverState(t, c) {
		srv[f] = []entry{}
		for _, m := range ms {
			data, _ := stripTUID(m.Data, true)
			h := sha(data)
			if !known[h] {
				t.Errorf("server %s UID %d: bytes match no message the test stored:\n%.300q", f, m.UID, m.Data)
			}
			srv[f] = append(srv[f], entry{h, strings.Join(m.Flags, " ")})
		}
	}
	for f, ms := range readMaildir(t, mail) {
		if name, ok := mbsyncLocalNames[f]; ok {
			f = name
		}
		local[f] = []entry{}
		for _, m := range ms {
			if bytes.Contains(m.Data, []byte("\r")) {
				t.Errorf("maildir %s: CR in %s", f, m.Path)
			}
			data, _ := stripTUID(toCRLF(m.Data), true)
			h := sha(data)
			if !known[h] {
				t.Errorf("maildir %s: %s matches no message the test stored:\n%.300q", f, m.Path, m.Data)
			}
			local[f] = append(local[f], entry{h, strings.Join(m.Flags, " ")})
		}
	}
	return srv, local
}

// mbsyncLocalNames maps Maildir folder names to the server's names
// where they differ.
//
// QUIRK(isync 1.4.4): mbsync does not decode modified UTF-7 mailbox
// names (RFC 3501 §5.1.3; support came in isync 1.5), so the server's
// "Projekte/Übersicht", which barid sends as "Projekte/&ANw-bersicht",
// becomes a Maildir folder of that literal name, and a message added
// there locally goes back to "Projekte/Übersicht".
var mbsyncLocalNames = map[string]string{"Projekte/&ANw-bersicht": "Projekte/Übersicht"}

// expectSame fails unless got equals want, folder by folder (a folder
// missing on one side counts as empty unless folders is set, in which
// case the sets of folders must match too).
func expectSame(t *testing.T, what string, want, got map[string][]entry, folders bool) {
	t.Helper()
	if !folders {
		want, got = withEmpty(want, got), withEmpty(got, want)
	}
	if d := diffEntries("expected", want, what, got); len(d) > 0 {
		if len(d) > 30 {
			d = append(d[:30], fmt.Sprintf("... and %d more", len(d)-30))
		}
		t.Fatalf("%s differs from the expected state:\n%s", what, strings.Join(d, "\n"))
	}
}

func withEmpty(a, b map[string][]entry) map[string][]entry {
	out := map[string][]entry{}
	for f, e := range a {
		out[f] = e
	}
	for f := range b {
		if _, ok := out[f]; !ok {
			out[f] = nil
		}
	}
	return out
}

func entryFlags(flags []imap.Flag) string {
	return strings.Join(flagStrings(flags), " ")
}

// TestMbsync runs a two-way mbsync sync between barid and a Maildir of
// a few hundred varied messages in nested folders and checks, after each
// run, that both sides hold exactly the expected messages, byte for byte,
// with the expected flags.
func TestMbsync(t *testing.T) {
	bin := needBinary(t, "mbsync", "isync")
	t.Parallel()
	version := clientVersion(t, bin, "isync", "--version")
	t.Logf("client: %s", version)
	s := startServer(t)
	s.addUser(mbsyncUser, mbsyncPass)
	dir := t.TempDir()
	mail := filepath.Join(dir, "mail")
	// QUIRK(isync 1.4.4): a message whose header is not ended by an
	// empty line (a header-only message) is refused with "message N from
	// near side has incomplete header; skipping", because mbsync must
	// insert X-TUID there. Such messages are left out of this corpus;
	// the other clients' corpora (offlineimap, fetchmail, imaplib,
	// go-imap) include them.
	msgs := withoutKind(genCorpus(1, "mbsync"), "headeronly")
	known := map[string]bool{}
	for _, m := range msgs {
		known[sha(m.Data)] = true
	}
	writeMaildir(t, mail, msgs)
	rc := mbsyncConfig(t, s, dir, version, mbsyncUser, mbsyncPass, false)
	sync := func(step string) string {
		t.Helper()
		start := time.Now()
		out := run(t, 2*time.Minute, dir, bin, "-V", "-c", rc, "-a")
		t.Logf("mbsync run (%s): %v", step, time.Since(start).Round(time.Millisecond))
		if strings.Contains(out, "Warning") || strings.Contains(out, "Error") {
			t.Fatalf("mbsync (%s) reported a problem:\n%s", step, out)
		}
		return out
	}
	c := s.dial(mbsyncUser, mbsyncPass)
	defer c.Close()
	r := rand.New(rand.NewPCG(7, 7))

	// 1. Initial upload: the server ends up with exactly the Maildir.
	sync("initial upload")
	want := map[string][]entry{}
	for _, m := range msgs {
		want[m.Folder] = append(want[m.Folder], entry{sha(m.Data), entryFlags(m.Flags)})
	}
	srv, local := mbsyncView(t, c, mail, known)
	expectSame(t, "server after upload", want, srv, false)
	expectSame(t, "maildir after upload", want, local, false)
	// CopyArrivalDate: the Maildir files' mtimes became barid's
	// INTERNALDATEs (APPEND date-time, RFC 9051 §6.3.12).
	arrivals := map[string]time.Time{}
	for i, m := range msgs {
		arrivals[sha(m.Data)] = arrival(i)
	}
	for _, mb := range mailboxes(t, c) {
		for _, m := range fetchAll(t, c, mb) {
			data, _ := stripTUID(m.Data, true)
			if want, ok := arrivals[sha(data)]; ok && !m.InternalDate.Equal(want) {
				t.Errorf("%s UID %d: INTERNALDATE %v, want the file's mtime %v", mb, m.UID, m.InternalDate, want)
			}
		}
	}
	// Byte equality is checked above through hashes; check the X-TUID
	// quirk is the only difference on one message in full.
	{
		st := fetchAll(t, c, "INBOX")
		stripped, ok := stripTUID(st[0].Data, true)
		if !ok {
			t.Errorf("expected mbsync's X-TUID in the uploaded copy:\n%.400q", st[0].Data)
		}
		if !known[sha(stripped)] {
			t.Errorf("uploaded INBOX UID %d differs from the Maildir file beyond X-TUID", st[0].UID)
		}
	}

	// 2. Flags both ways: toggle \Flagged and \Seen on the server in
	// INBOX, and locally (renaming files) in Archive/2024.
	for _, m := range fetchAll(t, c, "INBOX")[:12] {
		op, fl := imap.StoreFlagsAdd, imap.FlagFlagged
		if slices.Contains(m.Flags, string(imap.FlagFlagged)) {
			op = imap.StoreFlagsDel
		}
		if m.UID%2 == 0 {
			fl = imap.FlagSeen
			if !slices.Contains(m.Flags, string(imap.FlagSeen)) {
				op = imap.StoreFlagsAdd
			} else {
				op = imap.StoreFlagsDel
			}
		}
		storeFlags(t, c, "INBOX", m.UID, op, fl)
	}
	storeFlags(t, c, "Lists/golang", fetchAll(t, c, "Lists/golang")[0].UID, imap.StoreFlagsAdd, "$Forwarded")
	for i, m := range readMaildir(t, mail)["Archive/2024"][:10] {
		var fl []imap.Flag
		for _, f := range m.Flags {
			fl = append(fl, imap.Flag(f))
		}
		switch i % 3 {
		case 0:
			fl = toggle(fl, imap.FlagFlagged)
		case 1:
			fl = toggle(fl, imap.FlagSeen)
		case 2:
			fl = toggle(fl, imap.FlagAnswered)
		}
		setMaildirFlags(t, m, fl)
	}
	srv, local = mbsyncView(t, c, mail, known)
	want = merge(srv, local, "Archive/2024")
	sync("flags both ways")
	srv, local = mbsyncView(t, c, mail, known)
	expectSame(t, "server after flag changes", want, srv, false)
	expectSame(t, "maildir after flag changes", want, local, false)

	// 3. Expunges both ways: expunged on the server in INBOX and
	// Lists/golang/nuts, deleted locally in Sent and Archive, and marked
	// T (\Deleted) locally in Lists, which Expunge Both removes
	// everywhere.
	for _, mb := range []string{"INBOX", "Lists/golang/nuts"} {
		ms := fetchAll(t, c, mb)
		var uids []imap.UID
		for range 4 {
			uids = append(uids, ms[r.IntN(len(ms))].UID)
		}
		expunge(t, c, mb, uids...)
	}
	md := readMaildir(t, mail)
	for _, f := range []string{"Sent", "Archive"} {
		for _, m := range md[f][:3] {
			if err := os.Remove(m.Path); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv, local = mbsyncView(t, c, mail, known)
	want = merge(srv, local, "Sent", "Archive")
	trashed := md["Lists"][0]
	setMaildirFlags(t, trashed, []imap.Flag{imap.FlagDeleted})
	want["Lists"] = removeHash(want["Lists"], sha(toCRLF(trashed.Data)))
	sync("expunges both ways")
	srv, local = mbsyncView(t, c, mail, known)
	expectSame(t, "server after expunges", want, srv, false)
	expectSame(t, "maildir after expunges", want, local, false)

	// 4. Folders created on the server (one with a space, nested) appear
	// locally with their messages; one created locally appears on the
	// server.
	extra := withoutKind(genCorpus(2, "mbsync-more"), "headeronly")
	addKnown := func(m corpusMsg) corpusMsg { known[sha(m.Data)] = true; return m }
	for _, mb := range []string{"Lists/rust", "New Folder/Sub Folder", "Projekte/Übersicht"} {
		if err := c.Create(mb, nil).Wait(); err != nil {
			t.Fatalf("create %s: %v", mb, err)
		}
	}
	for i, mb := range []string{"Lists/rust", "Lists/rust", "New Folder/Sub Folder", "Projekte/Übersicht"} {
		m := addKnown(extra[i])
		appendMsg(t, c, mb, m.Data, m.Flags)
	}
	localOnly := filepath.Join(mail, "Local", "Only")
	mkMaildir(t, localOnly)
	lm := addKnown(extra[4])
	writeMaildirFile(t, localOnly, "new", "1700000100.local1.interop", lm.Data)
	srv, local = mbsyncView(t, c, mail, known)
	want = merge(srv, local, "Local/Only")
	sync("new folders")
	srv, local = mbsyncView(t, c, mail, known)
	for _, f := range []string{"Lists/rust", "New Folder/Sub Folder", "Projekte/Übersicht"} {
		if _, ok := local[f]; !ok {
			t.Errorf("server folder %q did not appear locally", f)
		}
	}
	expectSame(t, "server after new folders", want, srv, false)
	expectSame(t, "maildir after new folders", want, local, false)

	// 5. Messages added on both sides between runs (with and without
	// flags, in new/ and cur/, including a large one) end up on both.
	for i, mb := range []string{"INBOX", "INBOX", "Archive/2024/Q1", "Lists/golang/nuts"} {
		m := addKnown(extra[10+i])
		appendMsg(t, c, mb, m.Data, m.Flags)
	}
	for i, f := range []string{"INBOX", "INBOX", "Archive/2024/Q1", "Lists/rust", "Local/Only", "Projekte/&ANw-bersicht"} {
		m := addKnown(extra[20+i])
		if i == 0 {
			m.Data = genMessage(r, "large", 9000, "mbsync-large")
			addKnown(m)
		}
		if i%2 == 0 {
			writeMaildirFile(t, filepath.Join(mail, f), "new", fmt.Sprintf("1700000200.add%d.interop", i), m.Data)
		} else {
			writeMaildirFile(t, filepath.Join(mail, f), "cur", fmt.Sprintf("1700000200.add%d.interop:2,FS", i), m.Data)
		}
	}
	srv, local = mbsyncView(t, c, mail, known)
	want = union(srv, local)
	sync("additions on both sides")
	srv, local = mbsyncView(t, c, mail, known)
	expectSame(t, "server after additions", want, srv, false)
	expectSame(t, "maildir after additions", want, local, false)
	// With CopyArrivalDate every Maildir file's mtime equals its copy's
	// INTERNALDATE, whichever side it came from.
	mtimes := map[string]time.Time{}
	for _, ms := range readMaildir(t, mail) {
		for _, m := range ms {
			data, _ := stripTUID(toCRLF(m.Data), true)
			mtimes[sha(data)] = m.MTime
		}
	}
	for _, mb := range mailboxes(t, c) {
		for _, m := range fetchAll(t, c, mb) {
			data, _ := stripTUID(m.Data, true)
			if mt := mtimes[sha(data)]; mt.Unix() != m.InternalDate.Unix() {
				t.Errorf("%s UID %d: INTERNALDATE %v but the Maildir file's mtime is %v", mb, m.UID, m.InternalDate, mt)
			}
		}
	}
	// Now the folder lists must match exactly too.
	expectSame(t, "server folders", local, srv, true)

	// 6. A further run changes nothing on either side.
	before := snapshot(t, c, mail)
	out := sync("no-op")
	after := snapshot(t, c, mail)
	if before != after {
		t.Errorf("a run with nothing to do changed state:\nbefore:\n%s\nafter:\n%s\noutput:\n%s", before, after, out)
	}
}

// TestMbsyncDownload is the common first run: an account that already
// holds mail on barid synced into an empty Maildir, here over STARTTLS
// with LOGIN. Both sides must then hold the same messages, byte for byte
// apart from X-TUID, with the same flags and dates, and a second run
// must change nothing.
func TestMbsyncDownload(t *testing.T) {
	bin := needBinary(t, "mbsync", "isync")
	t.Parallel()
	version := clientVersion(t, bin, "isync", "--version")
	t.Logf("client: %s", version)
	s := startServer(t)
	const user, pass = "down@example.org", "download secret"
	s.addUser(user, pass)
	c := s.dial(user, pass)
	defer c.Close()
	// QUIRK(isync 1.4.4): header-only messages are skipped (see
	// TestMbsync).
	msgs := withoutKind(genCorpus(8, "mbsync-down"), "headeronly")
	seed(t, c, msgs)
	known := map[string]bool{}
	want := map[string][]entry{}
	for _, m := range msgs {
		known[sha(m.Data)] = true
		want[m.Folder] = append(want[m.Folder], entry{sha(m.Data), entryFlags(m.Flags)})
	}
	dir := t.TempDir()
	mail := filepath.Join(dir, "mail")
	if err := os.MkdirAll(mail, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := mbsyncConfig(t, s, dir, version, user, pass, true)
	start := time.Now()
	out := run(t, 2*time.Minute, dir, bin, "-V", "-c", rc, "-a")
	t.Logf("mbsync download of %d messages: %v", len(msgs), time.Since(start).Round(time.Millisecond))
	if strings.Contains(out, "Warning") || strings.Contains(out, "Error") {
		t.Fatalf("mbsync reported a problem:\n%s", out)
	}
	srv, local := mbsyncView(t, c, mail, known)
	expectSame(t, "server", want, srv, false)
	expectSame(t, "maildir", srv, local, true)
	// Downloaded files are dated with barid's INTERNALDATE.
	mtimes := map[string]time.Time{}
	for _, ms := range readMaildir(t, mail) {
		for _, m := range ms {
			data, _ := stripTUID(toCRLF(m.Data), true)
			mtimes[sha(data)] = m.MTime
		}
	}
	for _, mb := range mailboxes(t, c) {
		for _, m := range fetchAll(t, c, mb) {
			if mt := mtimes[sha(m.Data)]; mt.Unix() != m.InternalDate.Unix() {
				t.Errorf("%s UID %d: INTERNALDATE %v but the file's mtime is %v", mb, m.UID, m.InternalDate, mt)
			}
		}
	}
	before := snapshot(t, c, mail)
	run(t, 2*time.Minute, dir, bin, "-c", rc, "-a")
	if after := snapshot(t, c, mail); before != after {
		t.Errorf("a second run changed state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func withoutKind(msgs []corpusMsg, kind string) []corpusMsg {
	return slices.DeleteFunc(msgs, func(m corpusMsg) bool { return m.Kind == kind })
}

func toggle(fl []imap.Flag, f imap.Flag) []imap.Flag {
	if i := slices.Index(fl, f); i >= 0 {
		return slices.Delete(fl, i, i+1)
	}
	return append(fl, f)
}

// merge takes the server's view of every folder except the listed ones,
// which come from the local view: the expected state after a sync that
// propagates local changes in those folders and server changes
// elsewhere.
func merge(srv, local map[string][]entry, localFolders ...string) map[string][]entry {
	out := map[string][]entry{}
	for f, e := range srv {
		out[f] = slices.Clone(e)
	}
	for _, f := range localFolders {
		out[f] = slices.Clone(local[f])
	}
	return out
}

// union is every folder's messages from both sides, each message once.
func union(a, b map[string][]entry) map[string][]entry {
	out := map[string][]entry{}
	for _, side := range []map[string][]entry{a, b} {
		for f, es := range side {
			if _, ok := out[f]; !ok {
				out[f] = []entry{}
			}
			for _, e := range es {
				if !slices.Contains(out[f], e) {
					out[f] = append(out[f], e)
				}
			}
		}
	}
	return out
}

func removeHash(es []entry, h string) []entry {
	return slices.DeleteFunc(slices.Clone(es), func(e entry) bool { return e.Hash == h })
}

func writeMaildirFile(t *testing.T, dir, sub, name string, crlf []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, sub, name), toLF(crlf), 0o600); err != nil {
		t.Fatal(err)
	}
}

func storeFlags(t *testing.T, c *account, mbox string, uid imap.UID, op imap.StoreFlagsOp, flags ...imap.Flag) {
	t.Helper()
	if _, err := c.Select(mbox, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Collect(); err != nil {
		t.Fatalf("store %s UID %d: %v", mbox, uid, err)
	}
}

func expunge(t *testing.T, c *account, mbox string, uids ...imap.UID) {
	t.Helper()
	if _, err := c.Select(mbox, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	set := imap.UIDSetNum(uids...)
	if _, err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UIDExpunge(set).Collect(); err != nil {
		t.Fatal(err)
	}
}

// snapshot describes both sides completely: every Maildir file (name,
// size, hash) and state file, and every mailbox's UIDVALIDITY, UIDNEXT,
// HIGHESTMODSEQ and messages (UID, flags, hash).
func snapshot(t *testing.T, c *account, mail string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(mail, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mail, p)
		lines = append(lines, fmt.Sprintf("local %s %d %.12s", rel, len(data), sha(data)))
		return nil
	})
	for _, mb := range mailboxes(t, c) {
		st, err := c.Status(mb, &imap.StatusOptions{UIDNext: true, UIDValidity: true, HighestModSeq: true, NumMessages: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("server %s uidvalidity=%d uidnext=%d highestmodseq=%d messages=%d", mb, st.UIDValidity, st.UIDNext, st.HighestModSeq, *st.NumMessages))
		for _, m := range fetchAll(t, c, mb) {
			lines = append(lines, fmt.Sprintf("server %s %d %v %.12s", mb, m.UID, m.Flags, sha(m.Data)))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
