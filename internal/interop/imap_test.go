package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// account is a go-imap v2 client logged in to barid, with a cache of
// message bytes: a message never changes under one UIDVALIDITY and UID
// (RFC 9051 §2.3.1.1), so repeated state checks fetch only new messages'
// bodies while still fetching every message's UID, FLAGS and size.
type account struct {
	*imapclient.Client
	bodies map[bodyKey][]byte
}

type bodyKey struct {
	mbox        string
	uidValidity uint32
	uid         imap.UID
}

// dial logs in over implicit TLS with barid's certificate pinned.
func (s *server) dial(user, pass string) *account {
	s.t.Helper()
	c, err := imapclient.DialTLS(s.tlsAddr, &imapclient.Options{TLSConfig: s.tlsConfig()})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		s.t.Fatal(err)
	}
	return &account{Client: c, bodies: map[bodyKey][]byte{}}
}

// appendMsg APPENDs data with flags and returns the new UID.
func appendMsg(t testing.TB, c *account, mbox string, data []byte, flags []imap.Flag) imap.UID {
	t.Helper()
	cmd := c.Append(mbox, int64(len(data)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append to %s: %v", mbox, err)
	}
	return res.UID
}

// seed creates every corpus folder on the server and appends the corpus.
func seed(t testing.TB, c *account, msgs []corpusMsg) {
	t.Helper()
	exists := map[string]bool{}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		exists[l.Mailbox] = true
	}
	for _, f := range corpusFolders {
		if !exists[f.Name] {
			if err := c.Create(f.Name, nil).Wait(); err != nil {
				t.Fatalf("create %s: %v", f.Name, err)
			}
			exists[f.Name] = true
		}
	}
	for _, m := range msgs {
		appendMsg(t, c, m.Folder, m.Data, m.Flags)
	}
}

// srvMsg is one message as barid serves it.
type srvMsg struct {
	UID          imap.UID
	Flags        []string // sorted, \Recent excluded
	InternalDate time.Time
	Data         []byte // BODY.PEEK[]
}

// mailboxes lists the selectable mailboxes.
func mailboxes(t testing.TB, c *account) []string {
	t.Helper()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		out = append(out, l.Mailbox)
	}
	sort.Strings(out)
	return out
}

// fetchAll examines mbox and returns every message's UID, FLAGS and
// BODY.PEEK[] (bodies not fetched before are fetched now). It fails the
// test when RFC822.SIZE disagrees with the number of bytes received.
func fetchAll(t testing.TB, c *account, mbox string) []srvMsg {
	t.Helper()
	sel, err := c.Select(mbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("examine %s: %v", mbox, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	all := imap.SeqSet{{Start: 1, Stop: 0}}
	meta, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", mbox, err)
	}
	key := func(uid imap.UID) bodyKey { return bodyKey{mbox, sel.UIDValidity, uid} }
	var missing imap.UIDSet
	for _, m := range meta {
		if _, ok := c.bodies[key(m.UID)]; !ok {
			missing.AddNum(m.UID)
		}
	}
	if len(missing) > 0 {
		bodies, err := c.Fetch(missing, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatalf("fetch %s: %v", mbox, err)
		}
		for _, m := range bodies {
			for _, s := range m.BodySection {
				c.bodies[key(m.UID)] = s.Bytes
			}
		}
	}
	out := make([]srvMsg, 0, len(meta))
	for _, m := range meta {
		data, ok := c.bodies[key(m.UID)]
		if !ok {
			t.Errorf("%s UID %d: no BODY[] returned", mbox, m.UID)
		}
		if int64(len(data)) != m.RFC822Size {
			t.Errorf("%s UID %d: RFC822.SIZE %d but BODY[] has %d bytes", mbox, m.UID, m.RFC822Size, len(data))
		}
		out = append(out, srvMsg{UID: m.UID, Flags: flagStrings(m.Flags), InternalDate: m.InternalDate, Data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

func flagStrings(fl []imap.Flag) []string {
	var out []string
	for _, f := range fl {
		if strings.EqualFold(string(f), `\Recent`) {
			continue
		}
		out = append(out, string(f))
	}
	sort.Strings(out)
	return out
}

// serverState fetches every selectable mailbox.
func serverState(t testing.TB, c *account) map[string][]srvMsg {
	t.Helper()
	st := map[string][]srvMsg{}
	for _, mb := range mailboxes(t, c) {
		st[mb] = fetchAll(t, c, mb)
	}
	return st
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// entry is one message reduced to what two sides must agree on.
type entry struct {
	Hash  string
	Flags string
}

func (e entry) String() string { return fmt.Sprintf("%.12s %s", e.Hash, e.Flags) }

// diffEntries compares two folder -> multiset-of-entries views and
// returns a readable list of differences (nil when equal).
func diffEntries(aName string, a map[string][]entry, bName string, b map[string][]entry) []string {
	var diffs []string
	folders := map[string]bool{}
	for f := range a {
		folders[f] = true
	}
	for f := range b {
		folders[f] = true
	}
	var fs []string
	for f := range folders {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	for _, f := range fs {
		ea, oka := a[f]
		eb, okb := b[f]
		if !oka || !okb {
			diffs = append(diffs, fmt.Sprintf("folder %q: on %s %v, on %s %v", f, aName, oka, bName, okb))
			continue
		}
		count := map[entry]int{}
		for _, e := range ea {
			count[e]++
		}
		for _, e := range eb {
			count[e]--
		}
		for e, n := range count {
			switch {
			case n > 0:
				diffs = append(diffs, fmt.Sprintf("%s: %d× only on %s: %v", f, n, aName, e))
			case n < 0:
				diffs = append(diffs, fmt.Sprintf("%s: %d× only on %s: %v", f, -n, bName, e))
			}
		}
	}
	sort.Strings(diffs)
	return diffs
}
