package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/mail/searchtext"
	"barid/internal/store"
)

// A store written before migration 7 kept its search fields lower-cased
// with strings.ToLower from the raw header text; opening it re-derives
// them from the stored header, in batches, and search finds what
// i;unicode-casemap and Dovecot's address matching find.
func TestMigrationRederivesSearchFields(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	hdrs := []string{
		"From: Jürgen Groß <jg@example.de>\r\nSubject: Straße nach İstanbul\r\nDate: 5 Jan 26 10:00 EST\r\n\r\n",
		"From: <user-from (comment)@ (comment) domain.org>\r\nTo: =?utf-8?b?2YXYrdmF2K8=?= <m@example.sa>\r\nSubject: ASCII only\r\n\r\n",
		"From: <>\r\nSubject: null sender\r\n\r\n",
	}
	n := 2*rederiveBatch + 7 // three batches
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		h := hdrs[i%len(hdrs)]
		old := searchtext.FromHeader([]byte(h))
		// what the old ingest stored: ToLower of the decoded raw text
		raw := func(name string) string {
			for _, l := range strings.Split(h, "\r\n") {
				if v, ok := strings.CutPrefix(l, name+": "); ok {
					return strings.ToLower(v)
				}
			}
			return ""
		}
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("%064x", i), Size: 10, Header: []byte(h),
			Subject: raw("Subject"), From: raw("From"), To: raw("To")}
		if old.From == msgs[i].From {
			t.Fatalf("message %d: the old fields should differ from the new", i)
		}
	}
	s, mb, _ := openInbox(t, path, Options{}, msgs)
	s.Close()
	// Back to the layout of step 8, before the search fields were re-derived.
	rollBackTo(t, path, 8)

	start := time.Now()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("migration of %d messages: %v", n, time.Since(start))
	var v int
	s.wconn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	if v != len(migrations) {
		t.Fatalf("user_version %d", v)
	}
	var left int
	s.wconn.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE key = 'migration9_rowid'").Scan(&left)
	if left != 0 {
		t.Error("progress key left in meta")
	}
	// Schema step 21 threaded every message, in batches of
	// threadBackfillBatch.
	var unthreaded, threads int
	s.wconn.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE threadid = 0").Scan(&unthreaded)
	s.wconn.QueryRowContext(ctx, "SELECT count(DISTINCT threadid) FROM messages").Scan(&threads)
	if unthreaded != 0 || threads != n || n <= 2*threadBackfillBatch {
		t.Errorf("after the backfill: %d messages without a thread, %d threads for %d messages without ids", unthreaded, threads, n)
	}
	count := func(field, needle string) int {
		uids, err := s.SearchCriteria(ctx, mb.ID, &store.Criteria{Op: store.CritContains, Field: field, Value: needle})
		if err != nil {
			t.Fatal(err)
		}
		return len(uids)
	}
	per := make([]int, len(hdrs)) // messages with each header
	for i := range n {
		per[i%len(hdrs)]++
	}
	for _, tc := range []struct {
		field, needle string
		want          int
	}{
		{"subject", "STRAßE", per[0]},
		{"subject", "strasse", 0}, // simple case mappings only (RFC 5051)
		{"subject", "STRAẞE", 0},  // U+1E9E is a class of its own
		{"subject", "İSTANBUL", per[0]},
		{"subject", "ascii ONLY", per[1]},
		{"from", `"jürgen groß" <jg@`, per[0]},
		{"from", "user-from@domain.org", per[1]},
		{"from", "comment", 0},
		{"from", "<>", 0},
		{"to", "محمد <m@example.sa>", per[1]},
	} {
		needle := tc.needle
		if got := count(tc.field, searchtextFold(needle)); got != tc.want {
			t.Errorf("%s %q: %d matches, want %d", tc.field, needle, got, tc.want)
		}
	}
	// the obsolete date ("EST", two-digit year) now parses
	var dated int
	s.wconn.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE sentdate IS NOT NULL").Scan(&dated)
	if dated != per[0] {
		t.Errorf("%d messages with a sent date, want %d", dated, per[0])
	}
}

func searchtextFold(s string) string { return searchtext.Subject(s) }
