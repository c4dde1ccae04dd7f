package sqlite

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"

	"barid/internal/store"
)

// scanFunc adapts a function to scanMailbox's Scan interface.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// SelectSnapshot answers what SELECT reads (store.SelectReader) from one
// statement and the flag index: the mailbox row and its keywords in one
// SQLite read, then the UIDs and the first unseen message from the index
// if it is current for that row's HIGHESTMODSEQ and UIDVALIDITY. Every
// SQLite read transaction takes and releases the WAL's shared-memory
// locks (fcntl system calls), so four reads cost more than the rest of a
// SELECT of 20,000 messages together. ok is false when the index is not
// loaded or not current; the caller then reads the slow way, and SELECT
// has already started the load (WarmFlags).
func (s *Store) SelectSnapshot(ctx context.Context, mailboxID int64) (store.SelectSnapshot, bool, error) {
	var snap store.SelectSnapshot
	if s.index == nil {
		return snap, false, nil
	}
	var kws []byte
	// The epoch before the read: a keyword defined by a commit after it
	// makes what this read finds too old to keep (selKeywords).
	epoch := s.selkw.epoch.Load()
	err := s.read(ctx, func(r *reader) error {
		row := r.queryRow(`SELECT `+mailboxCols+`,
			(SELECT group_concat(name, ' ') FROM (SELECT name FROM keywords WHERE mailbox = m.id ORDER BY lname))
			FROM mailboxes m WHERE m.id = ?`, mailboxID)
		var err error
		snap.Mailbox, err = scanMailbox(scanFunc(func(dest ...any) error {
			return row.Scan(append(dest, &kws)...)
		}))
		return err
	})
	if errNoRows(err) {
		return snap, false, store.ErrNoMailbox
	}
	if err != nil {
		return snap, false, err
	}
	mb := snap.Mailbox
	uids, first, ok := s.index.selectView(mailboxID, mb.HighestModSeq, mb.UIDValidity)
	if !ok {
		return snap, false, nil
	}
	snap.UIDs, snap.FirstUnseen, snap.UIDsShared = uids, first, true
	// Keywords are atoms (RFC 9051 §9 flag-keyword): no spaces inside.
	for f := range bytes.FieldsSeq(kws) {
		snap.Keywords = append(snap.Keywords, string(f))
	}
	s.selkw.put(mailboxID, epoch, mb.HighestModSeq, mb.UIDValidity, snap.Keywords)
	return snap, true, nil
}

// SelectSnapshotOf implements store.SelectRowReader: SELECT has just
// read mb to resolve the mailbox's name, and when the flag index is
// current for that row (its HIGHESTMODSEQ and UIDVALIDITY) and the
// mailbox's keywords are known for it (selKeywords), the answer needs no
// second SQLite read. The row was read from the database, so a write by
// another process since the index last matched it still shows (as a
// HIGHESTMODSEQ the index does not have), exactly as in SelectSnapshot.
// Otherwise it is SelectSnapshot.
func (s *Store) SelectSnapshotOf(ctx context.Context, mb *store.Mailbox) (store.SelectSnapshot, bool, error) {
	if s.index == nil || mb == nil {
		return store.SelectSnapshot{}, false, nil
	}
	if kws, ok := s.selkw.get(mb.ID, mb.HighestModSeq, mb.UIDValidity); ok {
		if uids, first, ok := s.index.selectView(mb.ID, mb.HighestModSeq, mb.UIDValidity); ok {
			row := *mb
			return store.SelectSnapshot{Mailbox: &row, UIDs: uids, UIDsShared: true, FirstUnseen: first, Keywords: kws}, true, nil
		}
	}
	return s.SelectSnapshot(ctx, mb.ID)
}

// selKeywords keeps, per mailbox, the keywords the last SelectSnapshot
// read, with the HIGHESTMODSEQ and UIDVALIDITY of the row read with them.
// A mailbox's keywords change only when a write request defines one
// (keywordCache.canonical): an APPEND or a STORE, in this process
// through the writer, which bumps epoch after its COMMIT, or in another
// process, whose APPEND raises the mailbox's HIGHESTMODSEQ (another
// process never stores flags). An entry is used only while epoch and
// the row's HIGHESTMODSEQ and UIDVALIDITY are those it was read with; a
// STORE whose messages were all expunged defines its keywords without
// a new HIGHESTMODSEQ, which is why epoch exists. Keywords are only
// ever removed with their mailbox.
type selKeywords struct {
	epoch atomic.Uint64
	mu    sync.Mutex
	m     map[int64]selKwEntry
}

type selKwEntry struct {
	epoch uint64
	hms   store.ModSeq
	uidv  uint32
	kws   []string // shared, never changed
}

// selKeywordsMax bounds the entries (one per mailbox SELECTed since the
// last reset): past it the map starts afresh.
const selKeywordsMax = 4096

func (k *selKeywords) put(id int64, epoch uint64, hms store.ModSeq, uidv uint32, kws []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= selKeywordsMax {
		k.m = map[int64]selKwEntry{}
	}
	k.m[id] = selKwEntry{epoch: epoch, hms: hms, uidv: uidv, kws: kws[:len(kws):len(kws)]}
}

func (k *selKeywords) get(id int64, hms store.ModSeq, uidv uint32) ([]string, bool) {
	epoch := k.epoch.Load()
	k.mu.Lock()
	e, ok := k.m[id]
	k.mu.Unlock()
	if !ok || e.epoch != epoch || e.hms != hms || e.uidv != uidv {
		return nil, false
	}
	return e.kws, true
}

// defined is called by the writer after the COMMIT (or ROLLBACK) of a
// transaction that defined a keyword.
func (k *selKeywords) defined() { k.epoch.Add(1) }
