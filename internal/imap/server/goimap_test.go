package server_test

import (
	"bytes"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const multipartMsg = "From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>, team: carol@example.org, dave@example.org;\r\n" +
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= report\r\n" +
	"Date: Tue, 6 Jan 2026 09:30:00 +0000\r\n" +
	"Message-ID: <m1@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Quarterly numbers attached. Caf=C3=A9 at noon.\r\n" +
	"--XYZ\r\n" +
	"Content-Type: application/octet-stream; name=\"data.bin\"\r\n" +
	"Content-Disposition: attachment; filename=\"data.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAECAwQFBgcICQ==\r\n" +
	"--XYZ--\r\n"

func dialGoIMAP(t *testing.T, ts *testServer, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialStartTLS(ts.addr, &imapclient.Options{
		TLSConfig:             &tls.Config{InsecureSkipVerify: true},
		UnilateralDataHandler: h,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func appendMsg(t *testing.T, c *imapclient.Client, mbox, msg string, flags []imap.Flag) imap.UID {
	t.Helper()
	cmd := c.Append(mbox, int64(len(msg)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return data.UID
}

// TestGoIMAPClientSession drives a whole session with a client nobody
// here wrote: STARTTLS, LOGIN, LIST with special-use, APPEND, SELECT,
// FETCH with body sections, SEARCH, STORE, COPY, MOVE, EXPUNGE, STATUS,
// and IDLE with a concurrent delivery.
func TestGoIMAPClientSession(t *testing.T) {
	ts := startServer(t)
	ts.addUser("alice@example.org", "pw1")
	exists := make(chan uint32, 16)
	c := dialGoIMAP(t, ts, &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	})
	if err := c.Login("Alice@Example.org", "pw1").Wait(); err != nil {
		t.Fatal(err)
	}
	// LIST with special-use.
	list, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	uses := map[string]imap.MailboxAttr{}
	for _, l := range list {
		for _, a := range l.Attrs {
			if a == imap.MailboxAttrSent || a == imap.MailboxAttrTrash || a == imap.MailboxAttrDrafts || a == imap.MailboxAttrJunk || a == imap.MailboxAttrArchive {
				uses[l.Mailbox] = a
			}
		}
	}
	if uses["Sent"] != imap.MailboxAttrSent || uses["Trash"] != imap.MailboxAttrTrash || uses["Archive"] != imap.MailboxAttrArchive || len(uses) != 5 {
		t.Fatalf("special-use: %v", uses)
	}
	if err := c.Create("Work/Reports", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	u1 := appendMsg(t, c, "INBOX", multipartMsg, []imap.Flag{imap.FlagSeen})
	plain := "From: x@example.org\r\nSubject: plain one\r\n\r\nneedle in body\r\n"
	u2 := appendMsg(t, c, "INBOX", plain, nil)
	if u1 != 1 || u2 != 2 {
		t.Fatalf("uids %d %d", u1, u2)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 || sel.UIDNext != 3 || sel.UIDValidity == 0 {
		t.Fatalf("select: %+v", sel)
	}
	// FETCH with sections.
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, RFC822Size: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{
			{Peek: true},
			{Part: []int{1}, Peek: true},
			{Part: []int{2}, Specifier: imap.PartSpecifierMIME, Peek: true},
			{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true},
		},
		BinarySection: []*imap.FetchItemBinarySection{{Part: []int{2}, Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("fetch returned %d messages", len(msgs))
	}
	m := msgs[0]
	if m.RFC822Size != int64(len(multipartMsg)) {
		t.Errorf("size %d want %d", m.RFC822Size, len(multipartMsg))
	}
	if m.Envelope == nil || m.Envelope.Subject != "Grüße report" || len(m.Envelope.From) != 1 || m.Envelope.From[0].Addr() != "alice@example.org" {
		t.Errorf("envelope: %+v", m.Envelope)
	}
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || mp.Subtype != "mixed" || len(mp.Children) != 2 {
		t.Fatalf("bodystructure: %#v", m.BodyStructure)
	}
	if att, ok := mp.Children[1].(*imap.BodyStructureSinglePart); !ok || att.Disposition() == nil || att.Disposition().Value != "attachment" {
		t.Errorf("attachment part: %#v", mp.Children[1])
	}
	secs := map[string]string{}
	for _, s := range m.BodySection {
		key := string(s.Section.Specifier)
		for _, p := range s.Section.Part {
			key += "." + string(rune('0'+p))
		}
		secs[key] = string(s.Bytes)
	}
	if secs[""] != multipartMsg {
		t.Errorf("BODY[] differs from appended bytes")
	}
	if secs[".1"] != "Quarterly numbers attached. Caf=C3=A9 at noon.\r\n" && secs[".1"] != "Quarterly numbers attached. Caf=C3=A9 at noon." {
		t.Errorf("BODY[1] = %q", secs[".1"])
	}
	if !strings.Contains(secs["MIME.2"], "attachment") {
		t.Errorf("BODY[2.MIME] = %q", secs["MIME.2"])
	}
	if secs["HEADER"] != "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= report\r\n\r\n" {
		t.Errorf("HEADER.FIELDS = %q", secs["HEADER"])
	}
	if len(m.BinarySection) != 1 || !bytes.Equal(m.BinarySection[0].Bytes, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("BINARY[2] = %v", m.BinarySection)
	}
	// SEARCH.
	sd, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{"NEEDLE"}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.AllUIDs(); len(got) != 1 || got[0] != 2 {
		t.Errorf("BODY search: %v", got)
	}
	sd, err = c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.AllSeqNums(); len(got) != 1 || got[0] != 2 {
		t.Errorf("UNSEEN search: %v", got)
	}
	// A UTF-8 search of an RFC 2047-encoded header (go-imap sends
	// CHARSET UTF-8 for non-ASCII criteria).
	sd, err = c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "GRÜSSE"}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	sd2, err := c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "grüße"}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := sd2.AllSeqNums(); len(got) != 1 || got[0] != 1 {
		t.Errorf("UTF-8 HEADER search: %v", got)
	}
	_ = sd
	// STORE.
	if _, err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Important"}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	// COPY and MOVE.
	cd, err := c.Copy(imap.UIDSetNum(1, 2), "Work/Reports").Wait()
	if err != nil || cd.DestUIDs.String() != "1:2" {
		t.Fatalf("copy: %v %+v", err, cd)
	}
	md, err := c.Move(imap.UIDSetNum(1), "Archive").Wait()
	if err != nil || md.DestUIDs.String() != "1" {
		t.Fatalf("move: %v %+v", err, md)
	}
	st, err := c.Status("Work/Reports", &imap.StatusOptions{NumMessages: true, NumUnseen: true, Size: true}).Wait()
	if err != nil || *st.NumMessages != 2 || *st.NumUnseen != 1 || st.Size == nil || *st.Size != int64(len(multipartMsg)+len(plain)) {
		t.Fatalf("status: %v %+v", err, st)
	}
	// IDLE with a concurrent delivery from another connection.
	for len(exists) > 0 {
		<-exists
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	other := dialGoIMAP(t, ts, nil)
	if err := other.Login("alice@example.org", "pw1").Wait(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	appendMsg(t, other, "INBOX", "Subject: pushed\r\n\r\nhi\r\n", nil)
	select {
	case n := <-exists:
		if n != 2 {
			t.Errorf("EXISTS %d during IDLE, want 2", n)
		}
		t.Logf("IDLE saw the delivery after %v", time.Since(start))
	case <-time.After(3 * time.Second):
		t.Fatal("IDLE did not report the new message")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	// UID EXPUNGE.
	if _, err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UIDExpunge(imap.UIDSetNum(2)).Collect(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
}
