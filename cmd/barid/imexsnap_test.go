package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// snapMsg is what a client caches of a message.
type snapMsg struct {
	UID   imap.UID
	Flags string // sorted, lower-cased, \Recent left out
	Date  time.Time
	Size  int64
	Body  []byte
}

type snapBox struct {
	UIDValidity uint32
	UIDNext     imap.UID
	Msgs        []snapMsg
}

// snapshot is an account as an IMAP client sees it.
type snapshot struct {
	Boxes      map[string]*snapBox
	Subscribed []string
}

func imapLogin(t *testing.T, addr, user, pass string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("login %s at %s: %v", user, addr, err)
	}
	return c
}

func normFlags(fs []imap.Flag) string {
	var out []string
	for _, f := range fs {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		out = append(out, strings.ToLower(string(f)))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// takeSnapshot reads every mailbox (UIDVALIDITY, UIDNEXT, each message's
// UID, flags, INTERNALDATE, RFC822.SIZE and BODY[]) and the
// subscriptions.
func takeSnapshot(t *testing.T, addr, user, pass string) *snapshot {
	t.Helper()
	c := imapLogin(t, addr, user, pass)
	defer c.Close()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	s := &snapshot{Boxes: map[string]*snapBox{}}
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("select %s: %v", l.Mailbox, err)
		}
		b := &snapBox{UIDValidity: sel.UIDValidity, UIDNext: sel.UIDNext}
		if sel.NumMessages > 0 {
			var set imap.UIDSet
			set.AddRange(1, 0)
			msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
				BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				t.Fatalf("fetch %s: %v", l.Mailbox, err)
			}
			for _, m := range msgs {
				var body []byte
				if len(m.BodySection) > 0 {
					body = m.BodySection[0].Bytes
				}
				b.Msgs = append(b.Msgs, snapMsg{UID: m.UID, Flags: normFlags(m.Flags), Date: m.InternalDate, Size: m.RFC822Size, Body: body})
			}
			slices.SortFunc(b.Msgs, func(x, y snapMsg) int { return int(x.UID) - int(y.UID) })
		}
		s.Boxes[l.Mailbox] = b
	}
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range subs {
		s.Subscribed = append(s.Subscribed, l.Mailbox)
	}
	slices.Sort(s.Subscribed)
	return s
}

// compareSnapshots reports every difference; uids false compares
// messages in order without their UIDs and UIDVALIDITY (an import that
// could not keep them).
func compareSnapshots(t *testing.T, want, got *snapshot, uids bool) {
	t.Helper()
	for name, wb := range want.Boxes {
		gb := got.Boxes[name]
		if gb == nil {
			t.Errorf("mailbox %q missing", name)
			continue
		}
		if uids && (wb.UIDValidity != gb.UIDValidity || wb.UIDNext != gb.UIDNext) {
			t.Errorf("%s: UIDVALIDITY/UIDNEXT %d/%d, want %d/%d", name, gb.UIDValidity, gb.UIDNext, wb.UIDValidity, wb.UIDNext)
		}
		if len(wb.Msgs) != len(gb.Msgs) {
			t.Errorf("%s: %d messages, want %d", name, len(gb.Msgs), len(wb.Msgs))
			continue
		}
		for i := range wb.Msgs {
			w, g := wb.Msgs[i], gb.Msgs[i]
			if uids && w.UID != g.UID {
				t.Errorf("%s #%d: UID %d, want %d", name, i+1, g.UID, w.UID)
			}
			if w.Flags != g.Flags {
				t.Errorf("%s UID %d: FLAGS (%s), want (%s)", name, w.UID, g.Flags, w.Flags)
			}
			if !w.Date.Equal(g.Date) {
				t.Errorf("%s UID %d: INTERNALDATE %v, want %v", name, w.UID, g.Date, w.Date)
			}
			if w.Size != g.Size {
				t.Errorf("%s UID %d: RFC822.SIZE %d, want %d", name, w.UID, g.Size, w.Size)
			}
			if !bytes.Equal(w.Body, g.Body) {
				t.Errorf("%s UID %d: BODY[] differs:\n got %q\nwant %q", name, w.UID, g.Body, w.Body)
			}
		}
	}
	if !slices.Equal(want.Subscribed, got.Subscribed) {
		t.Errorf("subscriptions %v, want %v", got.Subscribed, want.Subscribed)
	}
}

// testMessage is a message with a recognisable body.
func testMessage(i int, mailbox string) string {
	return fmt.Sprintf("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: message %d in %s\r\n"+
		"Message-ID: <%d.%s@example.org>\r\nDate: Mon, 2 Mar 2020 10:%02d:00 +0100\r\n\r\nBody %d.\r\nFrom the start of a line.\r\n>From quoted.\r\n",
		i, mailbox, i, strings.ReplaceAll(mailbox, "/", "."), i%60, i)
}

// appendMsg APPENDs one message with flags and an internal date.
func appendMsg(t *testing.T, c *imapclient.Client, mailbox, msg string, date time.Time, flags ...imap.Flag) {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(msg)), &imap.AppendOptions{Flags: flags, Time: date})
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to %s: %v", mailbox, err)
	}
}

// populate fills an account over IMAP: several folders (nested, a
// non-ASCII name), every system flag, keywords, dates in several zones,
// UID gaps from expunges, subscriptions.
func populate(t *testing.T, addr, user, pass string, seed int) {
	t.Helper()
	c := imapLogin(t, addr, user, pass)
	defer c.Close()
	for _, mb := range []string{"Work", "Work/Projects", "Ünïcode Föld", "Lists/go-nuts"} {
		if err := c.Create(mb, nil).Wait(); err != nil {
			t.Fatalf("create %s: %v", mb, err)
		}
	}
	if err := c.Subscribe("Work/Projects").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe("Ünïcode Föld").Wait(); err != nil {
		t.Fatal(err)
	}
	flagSets := [][]imap.Flag{
		nil,
		{imap.FlagSeen},
		{imap.FlagSeen, imap.FlagAnswered},
		{imap.FlagFlagged, "$Label1"},
		{imap.FlagDraft},
		{imap.FlagSeen, imap.FlagDeleted},
		{"Work", "$Forwarded", "NonJunk"},
		{imap.FlagSeen, "$Label1", "Work"},
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600-1800)}
	n := seed
	for bi, mb := range []string{"INBOX", "Sent", "Work", "Work/Projects", "Ünïcode Föld", "Lists/go-nuts", "Trash"} {
		for i := 0; i < 6+bi; i++ {
			n++
			date := time.Date(2019+i%5, time.Month(1+n%12), 1+n%28, n%24, n%60, n%60, 0, zones[n%len(zones)])
			appendMsg(t, c, mb, testMessage(n, mb), date, flagSets[n%len(flagSets)]...)
		}
	}
	// UID gaps and a UIDNEXT past the last message: expunge two.
	if _, err := c.Select("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	set.AddNum(2, 8)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.UIDExpunge(set).Close(); err != nil {
		t.Fatal(err)
	}
}
