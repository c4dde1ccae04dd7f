package server

import (
	"context"
	"math"
	"sort"
	"sync"

	"barid/internal/store"
)

// One read of a mailbox's new messages for every session a change woke.
//
// A delivery to a mailbox that N sessions have selected wakes all N (in
// IDLE, with NOTIFY, or at their next command), and each must learn the
// new UIDs from the store, not from the bus (the bus is a doorbell:
// docs/concurrency.md). Each used to read them itself: at 19,500 idlers
// that was 19,500 identical statements, about 25 µs of CPU each
// (docs/benchmarks.md, "idle: 100,000 connections in one process").
//
// newUIDsShare keeps, per mailbox, the latest read
// (store.NewUIDsReader: the UIDs above some UID, FIRSTRECENT and
// HIGHESTMODSEQ from one snapshot), finished or in flight. A session
// may use a read whose HIGHESTMODSEQ is at or above the MODSEQ of every
// addition and expunge it was told of and of the state its view already
// shows (view.floor): MODSEQs and UIDs are given in commit order, so
// such a read saw everything the session knows happened, and what it
// shows is what a read of the session's own at that moment would have
// shown. Otherwise the session reads itself, and its read becomes the
// one the next sessions use. Sessions that find a read in flight wait
// for it instead of reading beside it.
//
// \Recent (RFC 3501 §2.3.2: a new message is recent in exactly one
// session) stays the store's decision (ClaimRecent); a read carries a
// lower bound of FIRSTRECENT that the claims made through it raise, so
// that after the first session's claim the others find nothing to claim
// without asking the store, and only one of them asks at a time.
type newUIDsShare struct {
	slots [newUIDsSlots]newUIDsSlot
}

// newUIDsSlots is the number of mailboxes whose latest read is kept
// (mailbox ID modulo). A collision only costs the next session a read
// of its own.
const newUIDsSlots = 256

type newUIDsSlot struct {
	mu   sync.Mutex
	read *newUIDsRead
}

// newUIDsRead is one read; res and err are set before done closes and
// never change after.
type newUIDsRead struct {
	mailbox int64
	after   store.UID
	done    chan struct{}
	res     store.NewUIDs
	err     error

	claimMu sync.Mutex
	// firstRecent is at or below the mailbox's FIRSTRECENT (which only
	// grows); guarded by claimMu.
	firstRecent store.UID
}

// get returns a read of mailboxID's UIDs above at most after that is
// fresh for need (a HIGHESTMODSEQ; math.MaxUint64 for a read of the
// caller's own), reading it with ctx when none is.
func (f *newUIDsShare) get(ctx context.Context, nr store.NewUIDsReader, mailboxID int64, after store.UID, need store.ModSeq) (*newUIDsRead, error) {
	s := &f.slots[uint64(mailboxID)%newUIDsSlots]
	waited := false
	for {
		s.mu.Lock()
		r := s.read
		if r != nil && r.mailbox == mailboxID && r.after <= after && need != math.MaxUint64 {
			select {
			case <-r.done:
				if r.err == nil && r.res.HighestModSeq >= need {
					s.mu.Unlock()
					return r, nil
				}
			default:
				if !waited {
					// In flight: it may well be fresh enough (it
					// started after our change was committed if it
					// started after we were woken). Wait once.
					s.mu.Unlock()
					waited = true
					select {
					case <-r.done:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
					continue
				}
			}
		}
		r = &newUIDsRead{mailbox: mailboxID, after: after, done: make(chan struct{})}
		s.read = r
		s.mu.Unlock()
		r.res, r.err = nr.UIDsAfterRecent(ctx, mailboxID, after)
		r.firstRecent = r.res.FirstRecent
		close(r.done)
		return r, r.err
	}
}

// uidsAfter returns the read's UIDs above after (which is at or above
// r.after). The slice is shared: callers must not change it.
func (r *newUIDsRead) uidsAfter(after store.UID) []store.UID {
	u := r.res.UIDs
	i := sort.Search(len(u), func(i int) bool { return u[i] > after })
	return u[i:len(u):len(u)]
}

// recentClaimer is the part of store.Store claim uses.
type recentClaimer interface {
	ClaimRecent(ctx context.Context, mailboxID int64, upTo store.UID) (store.UID, error)
}

// claim is ClaimRecent through the read: a session whose new UIDs all
// lie below what an earlier claim through this read left as
// FIRSTRECENT gets nothing, without asking the store.
func (r *newUIDsRead) claim(ctx context.Context, st recentClaimer, upTo store.UID) (store.UID, error) {
	r.claimMu.Lock()
	defer r.claimMu.Unlock()
	if upTo < r.firstRecent {
		return r.firstRecent, nil
	}
	first, err := st.ClaimRecent(ctx, r.mailbox, upTo)
	if err != nil {
		return 0, err
	}
	// The store's FIRSTRECENT is now past upTo (a UID below UIDNEXT).
	r.firstRecent = max(r.firstRecent, first, upTo+1)
	return first, nil
}
