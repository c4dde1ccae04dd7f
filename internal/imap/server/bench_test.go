package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
	"barid/internal/store"
)

// populateBig fills INBOX with n varied message records directly through
// the store (bytes are not needed for these commands).
func populateBig(b *testing.B, ts *testServer, acct *store.Account, n int) {
	b.Helper()
	ctx := context.Background()
	st := ts.app.Data().Store
	mb, err := st.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]store.NewMessage, 0, 1000)
	for i := 0; i < n; i++ {
		raw := fmt.Sprintf("From: User %d <user%d@example%d.org>\r\nTo: team@example.org\r\nSubject: Report %d about topic %d\r\nDate: Mon, %d Jan 2026 10:00:00 +0000\r\nMessage-ID: <%d@x>\r\n\r\nbody %d\r\n", i%97, i%97, i%7, i, i%13, 1+i%28, i, i)
		a, err := msgdata.Analyze(strings.NewReader(raw), mime.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		var f store.Flags
		if i%3 != 0 {
			f.System |= store.FlagSeen
		}
		if i%50 == 0 {
			f.System |= store.FlagFlagged
		}
		batch = append(batch, store.NewMessage{
			Flags: f, BlobID: strings.Repeat("0", 64), Size: int64(len(raw)),
			InternalDate: time.Date(2026, 1, 1+i%28, 0, 0, i%60, 0, time.UTC),
			Header:       a.Header, Structure: a.Structure, Envelope: a.Envelope,
			Subject: a.Subject, From: a.From, To: a.To, SentDate: a.SentDate,
		})
		if len(batch) == cap(batch) || i == n-1 {
			if _, _, err := st.AppendMessages(ctx, mb.ID, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

func benchBigbox(b *testing.B, n int, cmd string) {
	ts := startServer(b)
	acct := ts.addUser("big", "pw")
	populateBig(b, ts, acct, n)
	c := ts.dial()
	c.t = b
	c.login("big", "pw")
	c.expectOK("s", "SELECT INBOX")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.expectOK("b", cmd)
	}
}

// Bigbox benchmarks (docs/large-mailboxes.md, docs/benchmarks.md): 100,000 messages.
func BenchmarkBigboxSelect(b *testing.B)        { benchBigbox(b, 100000, "EXAMINE INBOX") }
func BenchmarkBigboxFetchFlags(b *testing.B)    { benchBigbox(b, 100000, "FETCH 1:* (FLAGS)") }
func BenchmarkBigboxFetchEnvelope(b *testing.B) { benchBigbox(b, 100000, "FETCH 1:* (ENVELOPE)") }
func BenchmarkBigboxFetchAll(b *testing.B) {
	benchBigbox(b, 100000, "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
}
func BenchmarkBigboxSearchUnseen(b *testing.B)  { benchBigbox(b, 100000, "SEARCH UNSEEN") }
func BenchmarkBigboxSearchFlagged(b *testing.B) { benchBigbox(b, 100000, "SEARCH FLAGGED") }
func BenchmarkBigboxSearchFrom(b *testing.B)    { benchBigbox(b, 100000, "SEARCH FROM user42") }
func BenchmarkBigboxSortDate(b *testing.B)      { benchBigbox(b, 100000, "SORT (REVERSE DATE) UTF-8 ALL") }
