package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"barid/internal/store"
)

// TestMigrationComputesQuotaUsage builds a version-10 database by hand
// (before quotas) and checks that opening it computes every account's
// usage from its mailbox counters and keeps a storage quota set before
// as the account's override.
func TestMigrationComputesQuotaUsage(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	qs := append([]string(nil), migrations[:10]...)
	qs = append(qs, `PRAGMA user_version = 10`,
		`INSERT INTO accounts (id, name, quota, created) VALUES (1, 'u', 5000, 0), (2, 'v', 0, 0)`,
		`INSERT INTO mailboxes (id, account, name, uidvalidity, uidnext, highestmodseq, firstrecent, messages, size)
			VALUES (1, 1, 'INBOX', 1, 4, 3, 1, 3, 300), (2, 1, 'Box', 2, 2, 1, 1, 1, 50), (3, 2, 'INBOX', 3, 1, 1, 1, 0, 0)`)
	for _, q := range qs {
		if q == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetQuotaDefaults(store.QuotaLimits{Storage: 100, Messages: 7})
	for _, tc := range []struct {
		id   int64
		want store.Quota
	}{
		{1, store.Quota{AccountID: 1, Usage: store.QuotaUsage{Storage: 350, Messages: 4},
			Limits: store.QuotaLimits{Storage: 5000, Messages: 7}, Override: store.QuotaLimits{Storage: 5000, Messages: -1}}},
		{2, store.Quota{AccountID: 2, Limits: store.QuotaLimits{Storage: 100, Messages: 7}, Override: store.QuotaLimits{Storage: -1, Messages: -1}}},
	} {
		got, err := s.Quota(ctx, tc.id)
		if err != nil || *got != tc.want {
			t.Errorf("Quota(%d) = %+v, %v; want %+v", tc.id, got, err, tc.want)
		}
	}
}

// TestRecalcQuotaDrift damages the kept usage and a mailbox counter
// behind the store's back; RecalcQuota reports the drift and repairs
// both, so later writes are charged from the right base.
func TestRecalcQuotaDrift(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, "u", nil)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessages(ctx, mb.ID, []store.NewMessage{{BlobID: "a", Size: 10}, {BlobID: "b", Size: 20}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE mailboxes SET size = 999 WHERE id = 1`,
		`UPDATE quotas SET storage = 7, messages = 9`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, after, err := s.RecalcQuota(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if before != (store.QuotaUsage{Storage: 7, Messages: 9}) || after != (store.QuotaUsage{Storage: 30, Messages: 2}) {
		t.Fatalf("RecalcQuota = %+v -> %+v", before, after)
	}
	st, err := s.MailboxStatus(ctx, mb.ID)
	if err != nil || st.Size != 30 {
		t.Fatalf("mailbox size after recalc = %+v, %v", st, err)
	}
	before, after, err = s.RecalcQuota(ctx, a.ID)
	if err != nil || before != after {
		t.Fatalf("second RecalcQuota = %+v -> %+v, %v", before, after, err)
	}
}
