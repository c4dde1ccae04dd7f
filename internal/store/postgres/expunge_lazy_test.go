package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
)

// TestExpungeLazyCommit: with Options.SyncIndex off, EXPUNGE and UID
// EXPUNGE commit with synchronous_commit off, like a STORE (Dovecot's
// mail_fsync=optimized); with it on they wait for the WAL flush. APPEND,
// COPY and MOVE (whose transaction adds the messages to the
// destination) always wait.
func TestExpungeLazyCommit(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprint("sync_index=", sync), func(t *testing.T) {
			s, tr := tracedStore(t, pgtest.Database(t), Options{SyncIndex: sync})
			ctx := context.Background()
			a, err := s.CreateAccount(ctx, "user", nil)
			if err != nil {
				t.Fatal(err)
			}
			in, _ := s.Mailbox(ctx, a.ID, "INBOX")
			other, _, err := s.CreateMailbox(ctx, a.ID, "Other", "")
			if err != nil {
				t.Fatal(err)
			}
			// lazy runs op and reports whether it asked for
			// synchronous_commit off.
			lazy := func(what string, op func() error) bool {
				t.Helper()
				tr.take()
				if err := op(); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				return tr.askedLazy()
			}
			msgs := []store.NewMessage{{BlobID: "b1", Size: 1}, {BlobID: "b2", Size: 1}, {BlobID: "b3", Size: 1}, {BlobID: "b4", Size: 1}}
			var uids []store.UID
			if lazy("APPEND", func() (err error) { uids, _, err = s.AppendMessages(ctx, in.ID, msgs); return }) {
				t.Errorf("APPEND committed without waiting for the flush")
			}
			if lazy("COPY", func() error { _, _, err := s.CopyMessages(ctx, in.ID, uids[:1], other.ID); return err }) {
				t.Errorf("COPY committed without waiting for the flush")
			}
			if lazy("MOVE", func() error { _, _, err := s.MoveMessages(ctx, in.ID, uids[:1], other.ID); return err }) {
				t.Errorf("MOVE committed without waiting for the flush: its arrival must be durable")
			}
			if _, _, _, err := s.StoreFlags(ctx, in.ID, uids[1:], store.FlagsAdd, store.Flags{System: store.FlagDeleted}, 0); err != nil {
				t.Fatal(err)
			}
			if got := lazy("UID EXPUNGE", func() error { _, _, err := s.Expunge(ctx, in.ID, uids[1:2]); return err }); got == sync {
				t.Errorf("sync_index=%v: UID EXPUNGE sent synchronous_commit off: %v", sync, got)
			}
			var gone []store.UID
			if got := lazy("EXPUNGE", func() (err error) { gone, _, err = s.Expunge(ctx, in.ID, nil); return }); got == sync {
				t.Errorf("sync_index=%v: EXPUNGE sent synchronous_commit off: %v", sync, got)
			}
			if len(gone) != 2 {
				t.Fatalf("EXPUNGE removed %v, want 2", gone)
			}
		})
	}
}

// TestFlushFlushesWAL: after a lazy EXPUNGE, Flush returns only once
// PostgreSQL's WAL is flushed past the expunge's commit record (its
// insert position when the EXPUNGE returned), even on a server whose
// default is synchronous_commit off.
func TestFlushFlushesWAL(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.Database(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.pool.Exec(ctx, `ALTER DATABASE `+quoteIdent(currentDB(t, s))+` SET synchronous_commit = off`); err != nil {
		t.Skipf("cannot set the database's synchronous_commit: %v", err)
	}
	s.pool.Reset() // new connections take the database's setting
	var def string
	if err := s.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&def); err != nil || def != "off" {
		t.Fatalf("synchronous_commit %q (%v) after ALTER DATABASE, want off", def, err)
	}
	a, err := s.CreateAccount(ctx, "user", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.Mailbox(ctx, a.ID, "INBOX")
	for round := range 5 {
		uids, _, err := s.AppendMessages(ctx, in.ID, []store.NewMessage{{BlobID: fmt.Sprint("b", round), Size: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Expunge(ctx, in.ID, uids); err != nil {
			t.Fatal(err)
		}
		var after string
		if err := s.pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var flushed bool
		if err := s.pool.QueryRow(ctx, `SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn`, after).Scan(&flushed); err != nil {
			t.Fatal(err)
		}
		if !flushed {
			t.Fatalf("round %d: Flush returned before the WAL was flushed past %s", round, after)
		}
	}
}

func currentDB(t *testing.T, s *Store) string {
	t.Helper()
	var db string
	if err := s.pool.QueryRow(context.Background(), `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	return db
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
