package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"barid/internal/store"
)

// TestMailboxRowsOwnCommits: across the writer's own commits the
// mailbox rows (Mailbox, MailboxByID, Mailboxes) are answered from the
// rows the writer keeps, as SQLite has them after each commit (UIDNEXT
// and HIGHESTMODSEQ after an APPEND, a flag change, a subscription, a
// new mailbox, a rename, a delete), with no SQLite read; a commit of
// another process is seen at once.
func TestMailboxRowsOwnCommits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, uids := openInbox(t, path, Options{}, tinyMessages(0, 2))
	other, err := Open(ctx, path, Options{FlagIndexEntries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	acct := mb.AccountID
	// fromSQLite reads the rows the way the store did before it kept
	// them: what the cached answers must equal.
	fromSQLite := func() []store.Mailbox {
		t.Helper()
		var out []store.Mailbox
		if err := s.read(ctx, func(r *reader) error {
			rows, err := r.query(`SELECT `+mailboxCols+` FROM mailboxes m WHERE m.account = ? ORDER BY m.name`, acct)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				m, err := scanMailbox(rows)
				if err != nil {
					return err
				}
				out = append(out, *m)
			}
			return rows.Err()
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	statusFromSQLite := func(id int64) store.Status {
		t.Helper()
		var st store.Status
		if err := s.read(ctx, func(r *reader) error {
			return r.queryRow(`SELECT `+mailboxCols+`, m.messages, m.unseen, m.deleted, m.size,
				(SELECT count(*) FROM msgflags f WHERE f.mailbox = m.id AND f.uid >= m.firstrecent)
				FROM mailboxes m WHERE m.id = ?`, id).
				Scan(mailboxDests(&st.Mailbox, &st.Messages, &st.Unseen, &st.Deleted, &st.Size, &st.Recent)...)
		}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	// check compares every answer with SQLite; cached says they must
	// all be hits.
	check := func(step string, cached bool) {
		t.Helper()
		want := fromSQLite()
		hits := s.boxes.hits.Load()
		list, err := s.Mailboxes(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(want) {
			t.Fatalf("%s: Mailboxes %+v, want %+v", step, list, want)
		}
		for i, w := range want {
			if list[i] != w {
				t.Fatalf("%s: Mailboxes[%d] %+v, want %+v", step, i, list[i], w)
			}
			byName, err := s.Mailbox(ctx, acct, w.Name)
			if err != nil || *byName != w {
				t.Fatalf("%s: Mailbox(%q) %+v %v, want %+v", step, w.Name, byName, err, w)
			}
			byID, err := s.MailboxByID(ctx, w.ID)
			if err != nil || *byID != w {
				t.Fatalf("%s: MailboxByID(%d) %+v %v, want %+v", step, w.ID, byID, err, w)
			}
			st, err := s.MailboxStatus(ctx, w.ID)
			if wst := statusFromSQLite(w.ID); err != nil || *st != wst {
				t.Fatalf("%s: MailboxStatus(%d) %+v %v, want %+v", step, w.ID, st, err, wst)
			}
		}
		if got := s.boxes.hits.Load() - hits; cached && got != int64(1+3*len(want)) {
			t.Fatalf("%s: %d of %d lookups answered from the writer's rows", step, got, 1+3*len(want))
		}
	}
	if _, _, err := s.CreateMailbox(ctx, acct, "Archive", ""); err != nil {
		t.Fatal(err)
	}
	check("first read", false) // fills the rows
	check("nothing changed", true)

	if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(2, 3)); err != nil {
		t.Fatal(err)
	}
	check("after APPEND", true)
	if _, _, _, err := s.StoreFlags(ctx, mb.ID, uids[:1], store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	check("after STORE", true)
	// A claim of \Recent moves FIRSTRECENT, and with it the count.
	if _, err := s.ClaimRecent(ctx, mb.ID, uids[0]); err != nil {
		t.Fatal(err)
	}
	check("after the \\Recent claim", true)
	if _, _, err := s.Expunge(ctx, mb.ID, uids[1:2]); err != nil {
		t.Fatal(err)
	}
	check("after EXPUNGE", true)
	if _, err := s.SetSubscribed(ctx, acct, "Archive", true); err != nil {
		t.Fatal(err)
	}
	check("after SUBSCRIBE", true)
	if got, _ := s.Mailbox(ctx, acct, "Archive"); !got.Subscribed {
		t.Fatal("Archive not subscribed")
	}
	if _, _, err := s.CreateMailbox(ctx, acct, "Later", ""); err != nil {
		t.Fatal(err)
	}
	check("after CREATE", true)
	if _, err := s.RenameMailbox(ctx, acct, "Later", "Renamed"); err != nil {
		t.Fatal(err)
	}
	check("after RENAME", true)
	if _, err := s.Mailbox(ctx, acct, "Later"); err != store.ErrNoMailbox {
		t.Fatalf("the old name after RENAME: %v", err)
	}
	if _, err := s.DeleteMailbox(ctx, acct, "Renamed"); err != nil {
		t.Fatal(err)
	}
	check("after DELETE", true)

	// More \Recent messages than the writer counts (recentCountMax):
	// the row is kept, its STATUS comes from SQLite, and is right.
	big, _, err := s.CreateMailbox(ctx, acct, "Big", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessages(ctx, big.ID, tinyMessages(100, recentCountMax+2)); err != nil {
		t.Fatal(err)
	}
	check("after APPEND of more \\Recent than are counted", false)
	if st, err := s.MailboxStatus(ctx, big.ID); err != nil || st.Recent != recentCountMax+2 {
		t.Fatalf("STATUS of Big: %+v %v, want RECENT %d", st, err, recentCountMax+2)
	}

	// Another process's commit ends the generation: the next answers
	// come from SQLite, and show its change.
	if _, _, err := other.AppendMessages(ctx, mb.ID, tinyMessages(5, 1)); err != nil {
		t.Fatal(err)
	}
	check("after another process's APPEND", false)
	if _, _, err := s.AppendMessages(ctx, mb.ID, tinyMessages(6, 1)); err != nil {
		t.Fatal(err)
	}
	check("after the writer's next APPEND", false)
	check("in the new generation", true)
}
