package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"barid/internal/store"
	"barid/internal/store/storetest"
)

// A store written before schema step 21 has no thread ids: opening it
// threads every message (backfillThreads) and removes the progress key.
func TestThreadBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.ThreadBackfill(t, s, func(old store.Store) store.Store {
		old.Close()
		db, err := sql.Open(driverName, "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range []string{"UPDATE messages SET threadid = 0", "DELETE FROM thread_msgids",
			"INSERT INTO meta (key, value) VALUES ('" + threadBackfillKey + "', 0)"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var left int
		s.wconn.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE key = ?", threadBackfillKey).Scan(&left)
		if left != 0 {
			t.Error("progress key left in meta")
		}
		var idx int
		s.wconn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = ?", threadBackfillIndex).Scan(&idx)
		if idx != 0 {
			t.Error("the backfill's EMAILID index left behind")
		}
		return s
	})
}

// Schema step 30 drops messages_emailid from a store that has it; the
// messages keep their EMAILIDs, and a copy still shares its original's.
func TestEmailIDIndexDropped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, mb, uids := openInbox(t, path, Options{}, tinyMessages(0, 5))
	before := map[store.UID]int64{}
	rows, err := s.wconn.QueryContext(ctx, "SELECT uid, emailid FROM messages WHERE mailbox = ?", mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u, e int64
		rows.Scan(&u, &e)
		before[store.UID(u)] = e
	}
	rows.Close()
	if len(before) != len(uids) {
		t.Fatalf("%d rows, want %d", len(before), len(uids))
	}
	s.Close()
	rollBackTo(t, path, 29)
	index := func(s *Store) int {
		var n int
		s.wconn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'messages_emailid'").Scan(&n)
		return n
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if index(s) != 0 {
		t.Error("messages_emailid still there after step 30")
	}
	var v int
	s.wconn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	if v != len(migrations) {
		t.Fatalf("user_version %d", v)
	}
	for u, e := range before {
		var got int64
		if err := s.wconn.QueryRowContext(ctx, "SELECT emailid FROM messages WHERE mailbox = ? AND uid = ?", mb.ID, int64(u)).Scan(&got); err != nil || got != e {
			t.Errorf("uid %d: emailid %d (%v), want %d", u, got, err, e)
		}
	}
}

// BenchmarkAppendThreaded is BenchmarkAppend with thread ids to find:
// every message has a Message-ID, and four in five are replies naming
// up to four ancestors (In-Reply-To and References), so each append
// probes and writes the account's thread index (docs/benchmarks.md
// compares it with BenchmarkAppend).
func BenchmarkAppendThreaded(b *testing.B) {
	s, mb := emptyStore(b)
	ctx := context.Background()
	b.ResetTimer()
	cpu := cpuNow()
	for i := 0; i < b.N; i++ {
		m := benchMsg(i)
		m.MessageID = fmt.Sprintf("m%d@bench.example", i)
		for j := i - 1; j >= i-i%5 && j >= i-4; j-- {
			m.References = append(m.References, fmt.Sprintf("m%d@bench.example", j))
		}
		if _, _, err := s.AppendMessages(ctx, mb, []store.NewMessage{m}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, 1, "op")
}
