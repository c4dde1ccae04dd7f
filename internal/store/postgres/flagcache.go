package postgres

import (
	"context"
	"slices"
	"strings"
	"sync"

	"barid/internal/store"
)

// The flag cache answers a FETCH of flags and sizes (with the record
// cache, a client's message list and a whole message) from the node's
// memory: per mailbox, the UID, MODSEQ, flags and size of every message,
// complete as of one HIGHESTMODSEQ (through). It is what store/sqlite's
// flag index is on one node, made correct across nodes by the change
// bus (docs/scale-out.md, "Per node"):
//
//   - Every change to a mailbox's messages, on any node, raises its
//     HIGHESTMODSEQ in the writing transaction, and that transaction's
//     notification names the new value (hint.go). The listener records
//     the highest value heard per cached mailbox (heard), this node's
//     own notifications included, before anything else it does with a
//     notification.
//   - A read first runs the barrier (Barrier): one round trip on the
//     listening connection, shared by concurrent callers, after which
//     every notification of a transaction committed before the read
//     began has been heard. So a STORE acknowledged on another node
//     before this FETCH was sent has raised the heard value above
//     through, and the read brings the mailbox up to date first with one
//     statement: the rows whose MODSEQ is above through, the tombstones
//     of those expunged since (the expunged table), and the new
//     HIGHESTMODSEQ, in one snapshot (delta). A mailbox not cached yet
//     is read whole in one statement (load).
//   - This node's own STORE, EXPUNGE and APPEND apply what they
//     committed (own) when the cache is exactly one MODSEQ behind, so
//     that a session's FETCH after its own write needs no delta read;
//     otherwise, and for every other write, the delta read catches up.
//   - Without a listening connection (none, or reconnecting), or when
//     the barrier does not answer, the read goes to PostgreSQL as
//     before; a lost connection, a resync hint or a deleted mailbox
//     drops what the notifications would have invalidated.
//
// SELECT and STATUS read it too, for a mailbox row they have just read,
// with that row's HIGHESTMODSEQ instead of the barrier (selectcache.go).
//
// The cache holds at most Options.FlagCacheEntries messages over all
// mailboxes ([storage] flag_index_entries, the SQLite flag index's
// bound); past it, everything is dropped and filled again as used.

type fcRow struct {
	modseq store.ModSeq
	flags  store.Flags
	size   int64
}

type fcMailbox struct {
	mu      sync.Mutex // held across a load or delta read
	through store.ModSeq
	rows    map[store.UID]fcRow
	// heard is the highest MODSEQ heard for the mailbox (flagCache.mu).
	heard store.ModSeq
	// kws are the mailbox's defined keywords (Store.Keywords: sorted
	// case-insensitively) as of through when kwsOK (selectcache.go); once
	// read, every read of the mailbox keeps them current.
	kws   []string
	kwsOK bool
}

type flagCache struct {
	max     int // messages; 0: off
	mu      sync.Mutex
	mbs     map[int64]*fcMailbox
	entries int
}

func newFlagCache(max int) *flagCache {
	return &flagCache{max: max, mbs: map[int64]*fcMailbox{}}
}

func (c *flagCache) on() bool { return c != nil && c.max > 0 }

// heard records a notification's MODSEQ for the mailbox (the listener).
func (c *flagCache) heard(mailbox int64, hi store.ModSeq) {
	if !c.on() {
		return
	}
	c.mu.Lock()
	if e := c.mbs[mailbox]; e != nil {
		e.heard = max(e.heard, hi)
	}
	c.mu.Unlock()
}

// drop forgets a mailbox; dropAll forgets every mailbox.
func (c *flagCache) drop(mailbox int64) {
	if !c.on() {
		return
	}
	c.mu.Lock()
	if e := c.mbs[mailbox]; e != nil {
		delete(c.mbs, mailbox)
		c.entries -= len(e.rows)
	}
	c.mu.Unlock()
}

func (c *flagCache) dropAll() {
	if !c.on() {
		return
	}
	c.mu.Lock()
	c.mbs, c.entries = map[int64]*fcMailbox{}, 0
	c.mu.Unlock()
}

// entry returns the mailbox's entry, made if new, and the MODSEQ heard.
func (c *flagCache) entry(mailbox int64) *fcMailbox {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.mbs[mailbox]
	if e == nil {
		e = &fcMailbox{}
		c.mbs[mailbox] = e
	}
	return e
}

func (c *flagCache) heardOf(e *fcMailbox) store.ModSeq {
	c.mu.Lock()
	defer c.mu.Unlock()
	return e.heard
}

// grow accounts for n more (or fewer) messages; past the bound it
// drops every other mailbox. It reports whether e stays cached.
func (c *flagCache) grow(e *fcMailbox, mailbox int64, n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mbs[mailbox] != e {
		return false // dropped meanwhile
	}
	c.entries += n
	if c.entries > c.max {
		c.mbs = map[int64]*fcMailbox{mailbox: e}
		c.entries = len(e.rows)
		if c.entries > c.max {
			delete(c.mbs, mailbox)
			c.entries = 0
			return false
		}
	}
	return true
}

// own applies this node's committed write (its changes) to the cached
// mailboxes exactly one MODSEQ behind it.
func (c *flagCache) own(changes []store.Change) {
	if !c.on() || len(changes) == 0 {
		return
	}
	for i := 0; i < len(changes); {
		mb, ms := changes[i].MailboxID, changes[i].ModSeq
		j := i
		for j < len(changes) && changes[j].MailboxID == mb && changes[j].ModSeq == ms {
			j++
		}
		if j == i {
			j++ // not a message change: skip it
		} else {
			c.ownOne(mb, ms, changes[i:j])
		}
		i = j
	}
}

func (c *flagCache) ownOne(mailbox int64, ms store.ModSeq, changes []store.Change) {
	c.mu.Lock()
	e := c.mbs[mailbox]
	c.mu.Unlock()
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rows == nil || e.through != ms-1 {
		return // the next read catches up
	}
	// Applied whole or not at all: rows and kws stay a state as of
	// through.
	for _, ch := range changes {
		switch ch.Kind {
		case store.ChangeAdded, store.ChangeExpunged:
		case store.ChangeFlags:
			if _, ok := e.rows[ch.UID]; !ok {
				return // not a state this cache knows: leave it to the delta read
			}
		default:
			return
		}
	}
	n := 0
	for _, ch := range changes {
		switch ch.Kind {
		case store.ChangeAdded:
			if _, ok := e.rows[ch.UID]; !ok {
				n++
			}
			e.rows[ch.UID] = fcRow{modseq: ch.ModSeq, flags: ch.Flags, size: ch.Size}
			e.defineKeywords(ch.Flags.Keywords)
		case store.ChangeFlags:
			r := e.rows[ch.UID]
			r.modseq, r.flags = ch.ModSeq, ch.Flags
			e.rows[ch.UID] = r
			e.defineKeywords(ch.Flags.Keywords)
		case store.ChangeExpunged:
			if _, ok := e.rows[ch.UID]; ok {
				delete(e.rows, ch.UID)
				n--
			}
		}
	}
	e.through = ms
	c.grow(e, mailbox, n)
}

// fetchFlagsCached answers FetchMessages for flags and sizes from the
// flag cache after the barrier; ok=false when it cannot (cache off, no
// listening connection, the barrier not answered, the mailbox gone).
func (s *Store) fetchFlagsCached(ctx context.Context, mailboxID int64, uids []store.UID, fields Fields, fn func(*store.Message) error) (bool, error) {
	c := s.fc
	if !c.on() || fields&^(store.FieldFlags|store.FieldSize) != 0 || !s.barrier(ctx) {
		return false, nil
	}
	e := c.entry(mailboxID)
	e.mu.Lock()
	heard := c.heardOf(e)
	if e.rows == nil || e.through < heard {
		if err := s.fcRead(ctx, mailboxID, e, false); err != nil {
			e.mu.Unlock()
			c.drop(mailboxID)
			if isNoMailbox(err) {
				return false, nil
			}
			return true, err
		}
	}
	out := make([]store.Message, 0, len(uids))
	for _, u := range uids {
		if r, ok := e.rows[u]; ok {
			m := store.Message{MailboxID: mailboxID, UID: u, ModSeq: r.modseq, Flags: r.flags, Size: r.size}
			m.Flags.Keywords = slices.Clone(r.flags.Keywords)
			out = append(out, m)
		}
	}
	e.mu.Unlock()
	for i := range out {
		if err := fn(&out[i]); err != nil {
			return true, err
		}
	}
	return true, nil
}

// errFCNoMailbox: the mailbox row is gone.
type errFCNoMailbox struct{}

func (errFCNoMailbox) Error() string { return "postgres: flag cache: no such mailbox" }

func isNoMailbox(err error) bool { _, ok := err.(errFCNoMailbox); return ok }

// defineKeywords adds the keywords a change of this node's put on a
// message to kws (a keyword is defined in the transaction that first
// sets it, and never removed); e.mu is held.
func (e *fcMailbox) defineKeywords(kws []string) {
	if !e.kwsOK {
		return
	}
	for _, k := range kws {
		l := strings.ToLower(k)
		i, found := slices.BinarySearchFunc(e.kws, l, func(a, l string) int { return strings.Compare(strings.ToLower(a), l) })
		if !found {
			e.kws = slices.Insert(slices.Clip(e.kws), i, k)
		}
	}
}

// fcRead loads the mailbox (e.rows nil) or reads what changed above
// e.through, in one statement and so one snapshot; e.mu is held. The
// mailbox's defined keywords come with it when wantKw or when they are
// kept (e.kwsOK); otherwise they are not known for the new through.
func (s *Store) fcRead(ctx context.Context, mailboxID int64, e *fcMailbox, wantKw bool) error {
	load := e.rows == nil
	since := int64(e.through)
	if load {
		since = 0
	}
	readKw := wantKw || (e.kwsOK && !load)
	// k: 0 the mailbox's HIGHESTMODSEQ, 1 a message, 2 a tombstone, 3 a
	// defined keyword.
	rows, err := s.query(ctx, `SELECT 0, highestmodseq, 0, '', 0, 0 FROM mailboxes WHERE id = $1
		UNION ALL SELECT 1, uid, modseq, keywords, sysflags, size FROM msgflags WHERE mailbox = $1 AND modseq > $2
		UNION ALL SELECT 2, uid, 0, '', 0, 0 FROM expunged WHERE mailbox = $1 AND modseq > $2 AND NOT $3
		UNION ALL SELECT 3, 0, 0, name, 0, 0 FROM keywords WHERE mailbox = $1 AND $4`, mailboxID, since, load, readKw)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		k, sys      int32
		a, ms, size int64
		kw          string
		hms         int64 = -1
		added, gone []store.UID
		changed     = map[store.UID]fcRow{}
		kws         []string
	)
	for rows.Next() {
		if err := rows.Scan(&k, &a, &ms, &kw, &sys, &size); err != nil {
			return err
		}
		switch k {
		case 0:
			hms = a
		case 1:
			changed[store.UID(a)] = fcRow{modseq: store.ModSeq(ms), flags: store.Flags{System: store.SysFlags(sys), Keywords: decodeKeywords(kw)}, size: size}
		case 2:
			gone = append(gone, store.UID(a))
		case 3:
			kws = append(kws, kw)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if hms < 0 {
		return errFCNoMailbox{}
	}
	n := 0
	if load {
		e.rows = changed
		n = len(changed)
	} else {
		for u, r := range changed {
			if _, ok := e.rows[u]; !ok {
				added = append(added, u)
			}
			e.rows[u] = r
		}
		for _, u := range gone {
			if _, ok := e.rows[u]; ok {
				delete(e.rows, u)
				n--
			}
		}
		n += len(added)
	}
	e.through = store.ModSeq(hms)
	e.kwsOK = readKw
	e.kws = nil
	if readKw {
		// Keywords' order: lname COLLATE "C" (Store.Keywords).
		slices.SortFunc(kws, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		e.kws = kws
	}
	if !s.fc.grow(e, mailboxID, n) {
		return nil // dropped, or too large to keep: this read still answers
	}
	return nil
}
