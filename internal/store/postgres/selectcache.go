package postgres

import (
	"context"
	"slices"
	"strings"

	"barid/internal/store"
)

// SELECT and STATUS from the flag cache (docs/scale-out.md, "Per node").
// Both commands resolve the mailbox's name first (mailbox.Service.Resolve:
// one statement reading the mailbox row), and then read the mailbox
// again: SelectSnapshot (its UIDs, first unseen message and keywords,
// aggregated over msgflags) or MailboxStatus (the counters). The row
// just read carries the mailbox's HIGHESTMODSEQ, which every change to
// its messages raises in the writing transaction, as does a keyword's
// definition (keywordCache); so a flag cache entry whose through equals
// it holds exactly the messages and keywords the database had when the
// row was read, whatever any node did. The second read is then answered
// from memory, with no barrier: the row is the freshness proof. An entry
// behind the row is brought up to it by the flag cache's delta read (one
// statement, the rows changed since, instead of the whole mailbox's
// aggregates); an entry ahead of it (a newer write already applied) is
// not used.

// statusCacheMax is the most messages MailboxStatusOf counts in memory;
// a larger mailbox's counters are read from its row, where every write
// keeps them.
const statusCacheMax = 20000

// fcCurrent returns the mailbox's flag cache entry, locked, brought up
// to mb's HIGHESTMODSEQ with its keywords when wantKw; nil when the
// cache is off, the entry is ahead of mb, or the read failed (the
// caller then reads the database as without a cache).
func (s *Store) fcCurrent(ctx context.Context, mb *store.Mailbox, wantKw bool) *fcMailbox {
	c := s.fc
	if !c.on() || mb == nil {
		return nil
	}
	e := c.entry(mb.ID)
	e.mu.Lock()
	if e.rows == nil || e.through < mb.HighestModSeq || (wantKw && !e.kwsOK) {
		if err := s.fcRead(ctx, mb.ID, e, wantKw); err != nil {
			e.mu.Unlock()
			c.drop(mb.ID)
			return nil
		}
	}
	if e.through != mb.HighestModSeq || (wantKw && !e.kwsOK) {
		e.mu.Unlock()
		return nil
	}
	return e
}

// SelectSnapshotOf implements store.SelectRowReader: the answer of
// SelectSnapshot for the row mb, from the flag cache when it is (or is
// brought) current for mb, else SelectSnapshot.
func (s *Store) SelectSnapshotOf(ctx context.Context, mb *store.Mailbox) (store.SelectSnapshot, bool, error) {
	e := s.fcCurrent(ctx, mb, true)
	if e == nil {
		if mb == nil {
			return store.SelectSnapshot{}, false, nil
		}
		return s.SelectSnapshot(ctx, mb.ID)
	}
	defer e.mu.Unlock()
	row := *mb
	snap := store.SelectSnapshot{Mailbox: &row}
	snap.UIDs = make([]store.UID, 0, len(e.rows))
	for u := range e.rows {
		snap.UIDs = append(snap.UIDs, u)
	}
	slices.Sort(snap.UIDs)
	if len(e.kws) > 0 {
		snap.Keywords = slices.Clone(e.kws)
	}
	// As SelectSnapshot: the keywords in use listed up to selectScanMax
	// messages, each once whatever its case, in order of first
	// appearance by UID and then position.
	ordered := len(snap.UIDs) <= selectScanMax
	var seen map[string]bool
	if ordered {
		snap.Ordered = true
		seen = map[string]bool{}
	}
	for _, u := range snap.UIDs {
		r := e.rows[u]
		if snap.FirstUnseen == 0 && r.flags.System&store.FlagSeen == 0 {
			snap.FirstUnseen = u
			if !ordered {
				break
			}
		}
		if ordered {
			for _, k := range r.flags.Keywords {
				if l := strings.ToLower(k); !seen[l] {
					seen[l] = true
					snap.InUse = append(snap.InUse, k)
				}
			}
		}
	}
	return snap, true, nil
}

// MailboxStatusOf implements store.StatusRowReader: MailboxStatus for
// the row mb, counted from the flag cache when it is (or is brought)
// current for mb and the mailbox is small enough to count, else
// MailboxStatus.
func (s *Store) MailboxStatusOf(ctx context.Context, mb *store.Mailbox) (*store.Status, error) {
	e := s.fcCurrent(ctx, mb, false)
	if e == nil || len(e.rows) > statusCacheMax {
		if e != nil {
			e.mu.Unlock()
		}
		return s.MailboxStatus(ctx, mb.ID)
	}
	defer e.mu.Unlock()
	// RFC 9051 §6.3.11 STATUS; RECENT counts uid >= firstrecent
	// (MailboxStatus).
	st := &store.Status{Mailbox: *mb, Messages: uint32(len(e.rows))}
	for u, r := range e.rows {
		unseen, deleted := unseenDeleted(r.flags.System)
		st.Unseen += uint32(unseen)
		st.Deleted += uint32(deleted)
		st.Size += r.size
		if u >= mb.FirstRecent {
			st.Recent++
		}
	}
	return st, nil
}
