package sqlite

import (
	"sync"
	"sync/atomic"
	"time"

	"barid/internal/store"
)

// The record cache keeps the immutable part of recently read messages
// in memory: ENVELOPE, the MIME structure (BODYSTRUCTURE), and the
// basics (blob, size, INTERNALDATE, SAVEDATE). None of these ever
// changes for a given mailbox, UIDVALIDITY and UID (UIDVALIDITY comes
// from a counter that never repeats, and a UID is never reused), so an
// entry never needs invalidating; one for an expunged message is simply
// never asked for again and ages out. It plays the part of Dovecot's
// dovecot.index.cache: a client that lists a mailbox again, or several
// clients on one mailbox, are answered without reading the messages
// table. Together with the flag index it answers
// FETCH (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE) without SQLite.
//
// It is used only beside a current flag index (fetchWithIndex), which
// says which messages exist. Its size is bounded by
// Options.RecordCacheBytes; the least recently used entries leave first.

// recCacheMaxFetch is the size from which a FETCH bypasses the cache,
// unless the whole mailbox fits in it (recCache.fits): a scan of a
// mailbox larger than the cache would push out everything (the cache is
// LRU) and pay to insert records no one asks for again soon; with it,
// the 100,000-message FETCH of the bigbox benchmark took 386 ms instead
// of 278. Interactive clients ask for pages of tens to hundreds.
const recCacheMaxFetch = 512

// recCacheScanShare is the share of the cache a mailbox's records may
// take for a scan of it (FETCH 1:* ENVELOPE) to go through the cache:
// then the next listing of the mailbox reads no SQLite row at all, as
// Dovecot answers it from dovecot.index.cache, and half the cache is
// left for the records of every other mailbox.
const recCacheScanShare = 2

// recEntGuess is the cost assumed for an entry while the cache holds
// too few to average: an ENVELOPE and a structure of a plain message.
const recEntGuess = 1200

// cachedFields are the fields every entry holds: a miss reads them all,
// so that the next FETCH asking for another of them hits.
const cachedFields = store.FieldBasics | store.FieldStructure | store.FieldEnvelope

// recFields are the fields the cache can answer: cachedFields, and the
// header (FieldHeader: BODY[HEADER.FIELDS (...)], BODY[HEADER],
// RFC822.HEADER, and every section fetch, which needs it to find the
// body) once a FETCH asked for it. Like Dovecot's dovecot.index.cache,
// which adds a header field when a client first asks for it, an entry
// takes the header's bytes only for messages whose header is read, so
// a listing of envelopes (FETCH 1:* ENVELOPE) keeps its small entries.
// Under imaptest's stress mix, which asks for header fields of up to
// 100 messages and one message's header or body in every cycle, the
// rows read for them were a seventh of barid's CPU.
const recFields = cachedFields | store.FieldHeader

type recKey struct {
	mailbox int64
	uidv    uint32
	uid     store.UID
}

type recEnt struct {
	key                 recKey
	blobID              string
	size                int64
	internal, save      time.Time
	emailID, threadID   int64
	structure, envelope []byte
	// header is the message's header, when hasHeader (recFields).
	header     []byte
	hasHeader  bool
	cost       int
	prev, next *recEnt // LRU list, most recent at head.next
}

// recEntOverhead approximates an entry's memory besides its byte slices
// and blob ID (struct, map slot, slice headers).
const recEntOverhead = 200

type recCache struct {
	// hits and misses count records looked up (stats.go).
	hits, misses atomic.Int64

	mu    sync.Mutex
	m     map[recKey]*recEnt
	head  recEnt // sentinel of the LRU ring
	bytes int
	max   int
}

func newRecCache(max int) *recCache {
	if max <= 0 {
		return nil
	}
	c := &recCache{m: map[recKey]*recEnt{}, max: max}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

func (c *recCache) unlink(e *recEnt) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *recCache) pushFront(e *recEnt) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

// lookup fills hits[i] with the entry for ents[i] (nil on a miss), marks
// the hits recently used, and returns the UIDs missed, in order. With
// header, an entry without the header is a miss.
func (c *recCache) lookup(mailbox int64, uidv uint32, ents []indexed, header bool, hits []*recEnt, missed []store.UID) ([]*recEnt, []store.UID) {
	m0 := len(missed)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range ents {
		e := c.m[recKey{mailbox, uidv, ents[i].uid}]
		if e != nil && header && !e.hasHeader {
			e = nil
		}
		if e != nil {
			c.unlink(e)
			c.pushFront(e)
		} else {
			missed = append(missed, ents[i].uid)
		}
		hits = append(hits, e)
	}
	c.misses.Add(int64(len(missed) - m0))
	c.hits.Add(int64(len(ents) - (len(missed) - m0)))
	return hits, missed
}

// fits reports whether the records of a mailbox of n messages would take
// at most 1/recCacheScanShare of the cache, at the entries' average cost.
func (c *recCache) fits(n int) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	avg := recEntGuess
	if len(c.m) >= 64 {
		avg = c.bytes / len(c.m)
	}
	return n*avg <= c.max/recCacheScanShare
}

// add stores the record of m (read with cachedFields, and FieldHeader
// if header) and returns its entry, which replaces any older one.
func (c *recCache) add(mailbox int64, uidv uint32, m *store.Message, header bool) *recEnt {
	e := &recEnt{key: recKey{mailbox, uidv, m.UID}, blobID: m.BlobID, size: m.Size,
		internal: m.InternalDate, save: m.SaveDate, emailID: m.EmailID, threadID: m.ThreadID, structure: m.Structure, envelope: m.Envelope}
	if header {
		e.header, e.hasHeader = m.Header, true
	}
	e.cost = recEntOverhead + len(e.blobID) + len(e.structure) + len(e.envelope) + len(e.header)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[e.key]; old != nil {
		c.unlink(old)
		c.bytes -= old.cost
	}
	c.m[e.key] = e
	c.pushFront(e)
	c.bytes += e.cost
	for c.bytes > c.max && c.head.prev != &c.head {
		old := c.head.prev
		c.unlink(old)
		delete(c.m, old.key)
		c.bytes -= old.cost
	}
	return e
}

// fill sets the fields of m that an entry holds.
func (e *recEnt) fill(m *store.Message, fields store.Fields) {
	if fields&store.FieldBasics != 0 {
		m.BlobID, m.Size, m.InternalDate, m.SaveDate, m.EmailID, m.ThreadID = e.blobID, e.size, e.internal, e.save, e.emailID, e.threadID
	}
	if fields&store.FieldStructure != 0 {
		m.Structure = e.structure
	}
	if fields&store.FieldEnvelope != 0 {
		m.Envelope = e.envelope
	}
	if fields&store.FieldHeader != 0 {
		m.Header = e.header
	}
}

// recBufs lends fetchWithIndex its per-run scratch.
var recBufs = sync.Pool{New: func() any { return &recScratch{} }}

type recScratch struct {
	hits   []*recEnt
	missed []store.UID
	loaded []*recEnt
}

func (r *recScratch) release() {
	clear(r.hits)
	clear(r.loaded)
	r.hits, r.missed, r.loaded = r.hits[:0], r.missed[:0], r.loaded[:0]
	recBufs.Put(r)
}
