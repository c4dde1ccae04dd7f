package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"barid/internal/store"
)

// envMessages are n messages with distinct envelopes and structures.
func envMessages(first, n int) []store.NewMessage {
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		k := first + i
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("%064x", k), Size: 10,
			Envelope:  fmt.Appendf(nil, `("date %d" "subject %d" NIL NIL NIL NIL NIL NIL NIL "<%d@x>")`, k, k, k),
			Structure: fmt.Appendf(nil, "structure-%d", k)}
	}
	return msgs
}

// recMismatch counts messages rows whose msgrec row is missing or
// differs, and msgrec rows without a message.
func recMismatch(t *testing.T, s *Store) (missing, orphans int) {
	t.Helper()
	err := s.read(context.Background(), func(r *reader) error {
		if err := r.queryRow(`SELECT count(*) FROM messages m LEFT JOIN msgrec r ON r.id = (m.mailbox << 32) | m.uid
			WHERE r.id IS NULL OR r.envelope IS NOT m.envelope OR r.structure IS NOT m.structure`).Scan(&missing); err != nil {
			return err
		}
		return r.queryRow(`SELECT count(*) FROM msgrec r WHERE NOT EXISTS
			(SELECT 1 FROM messages m WHERE m.mailbox = r.id >> 32 AND m.uid = r.id & 4294967295)`).Scan(&orphans)
	})
	if err != nil {
		t.Fatal(err)
	}
	return missing, orphans
}

// fetchAllRecs reads fields of uids through FetchMessages, without the
// record cache (the path a mailbox too big for it takes).
func fetchAllRecs(t *testing.T, s *Store, mb int64, uids []store.UID, fields store.Fields) map[store.UID]store.Message {
	t.Helper()
	got := map[store.UID]store.Message{}
	err := s.FetchMessages(store.WithBulk(context.Background()), mb, uids, fields, func(m *store.Message) error {
		got[m.UID] = store.Message{UID: m.UID, Envelope: bytes.Clone(m.Envelope), Structure: bytes.Clone(m.Structure)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestMsgrecFollowsMessages: every way a message row comes or goes
// (APPEND, COPY, MOVE, EXPUNGE, mailbox delete, account delete) leaves
// msgrec equal to messages, and FETCH of envelopes and structures reads
// the same bytes from it as from messages.
func TestMsgrecFollowsMessages(t *testing.T) {
	ctx := context.Background()
	s, mb, uids := openInbox(t, "", Options{RecordCacheBytes: -1}, envMessages(0, 40))
	if !s.recReady.Load() {
		t.Fatal("a new store's msgrec is not ready")
	}
	other, _, err := s.CreateMailbox(ctx, mb.AccountID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CopyMessages(ctx, mb.ID, uids[:10], other.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MoveMessages(ctx, mb.ID, uids[10:15], other.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Expunge(ctx, mb.ID, uids[20:25]); err != nil {
		t.Fatal(err)
	}
	if missing, orphans := recMismatch(t, s); missing != 0 || orphans != 0 {
		t.Fatalf("after copy, move, expunge: %d messages without their msgrec row, %d msgrec rows without a message", missing, orphans)
	}
	// The same answers from msgrec as from messages, sparse UIDs and
	// expunged ones included.
	asked := append(append([]store.UID{}, uids[:3]...), uids[18:30]...)
	asked = append(asked, uids[39], uids[39]+5)
	for _, f := range []store.Fields{store.FieldEnvelope, store.FieldStructure, store.FieldEnvelope | store.FieldStructure,
		store.FieldEnvelope | store.FieldFlags} {
		s.recReady.Store(true)
		fast := fetchAllRecs(t, s, mb.ID, asked, f)
		s.recReady.Store(false) // as before step 28's copy is done
		slow := fetchAllRecs(t, s, mb.ID, asked, f)
		s.recReady.Store(true)
		if len(fast) != len(slow) || len(fast) != 3+12-5+1 {
			t.Fatalf("fields %v: %d messages from msgrec, %d from messages (want 11)", f, len(fast), len(slow))
		}
		for u, m := range slow {
			if !bytes.Equal(fast[u].Envelope, m.Envelope) || !bytes.Equal(fast[u].Structure, m.Structure) {
				t.Errorf("fields %v UID %d: msgrec %q %q, messages %q %q", f, u, fast[u].Envelope, fast[u].Structure, m.Envelope, m.Structure)
			}
		}
	}
	if _, err := s.DeleteMailbox(ctx, mb.AccountID, "Other"); err != nil {
		t.Fatal(err)
	}
	if missing, orphans := recMismatch(t, s); missing != 0 || orphans != 0 {
		t.Fatalf("after a mailbox delete: %d missing, %d orphans", missing, orphans)
	}
	// A new mailbox may get the deleted one's id (SQLite reuses the
	// largest INTEGER PRIMARY KEY): its messages must not meet old rows.
	again, _, err := s.CreateMailbox(ctx, mb.AccountID, "Again", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessages(ctx, again.ID, envMessages(100, 5)); err != nil {
		t.Fatal(err)
	}
	if missing, orphans := recMismatch(t, s); missing != 0 || orphans != 0 {
		t.Fatalf("after a mailbox made again: %d missing, %d orphans", missing, orphans)
	}
	var n int
	if err := s.read(ctx, func(r *reader) error { return r.queryRow(`SELECT count(*) FROM msgrec`).Scan(&n) }); err != nil || n != 40-5-5+5 {
		t.Fatalf("msgrec has %d rows (%v), want 35", n, err)
	}
}

// TestMsgrecBackfill: a store written before schema step 28 (msgrec
// empty, the meta key set by the step) has its records copied in the
// background after Open, resuming from the key, and FETCH reads msgrec
// only once the copy is complete.
func TestMsgrecBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "barid.db")
	s, mb, uids := openInbox(t, path, Options{RecordCacheBytes: -1}, envMessages(0, 3*recBackfillBatch+7))
	want := fetchAllRecs(t, s, mb.ID, uids, store.FieldEnvelope|store.FieldStructure)
	s.Close()

	// As schema step 28 leaves a store with messages; a copy
	// interrupted after the first batch has the key at that rowid.
	db, err := sql.Open(driverName, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var mid int64
	steps := []string{
		`DELETE FROM msgrec WHERE id IN (SELECT (mailbox << 32) | uid FROM messages WHERE rowid > (SELECT min(rowid) + 99 FROM messages))`,
		`INSERT INTO meta (key, value) SELECT 'msgrec_backfill_rowid', min(rowid) + 99 FROM messages`,
	}
	for _, q := range steps {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.QueryRow(`SELECT value FROM meta WHERE key = 'msgrec_backfill_rowid'`).Scan(&mid); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s2, err := Open(ctx, path, Options{RecordCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// Until the copy is done, FETCH answers from messages.
	if got := fetchAllRecs(t, s2, mb.ID, uids, store.FieldEnvelope); len(got) != len(uids) {
		t.Fatalf("during the copy: %d of %d envelopes", len(got), len(uids))
	}
	select {
	case <-s2.recDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the msgrec copy did not finish")
	}
	if !s2.recReady.Load() {
		t.Fatal("copy finished but msgrec not marked ready")
	}
	if missing, orphans := recMismatch(t, s2); missing != 0 || orphans != 0 {
		t.Fatalf("after the copy: %d missing, %d orphans", missing, orphans)
	}
	var left int
	if err := s2.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT count(*) FROM meta WHERE key = ?`, recBackfillKey).Scan(&left)
	}); err != nil || left != 0 {
		t.Fatalf("meta key left: %d (%v)", left, err)
	}
	got := fetchAllRecs(t, s2, mb.ID, uids, store.FieldEnvelope|store.FieldStructure)
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for u, m := range want {
		if !bytes.Equal(got[u].Envelope, m.Envelope) || !bytes.Equal(got[u].Structure, m.Structure) {
			t.Fatalf("UID %d: %q %q, want %q %q", u, got[u].Envelope, got[u].Structure, m.Envelope, m.Structure)
		}
	}
	s2.Close()
	// Reopened: nothing left to copy, ready at once.
	s3, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if !s3.recReady.Load() {
		t.Fatal("reopened after the copy: msgrec not ready")
	}
}
