package postgres

import (
	"sync"
	"time"

	"barid/internal/store"
)

// The record cache keeps the immutable part of recently read message
// records in the node's memory (ENVELOPE, BODYSTRUCTURE, the top-level
// header, blob ID, size, dates, EMAILID, THREADID), and the blob cache
// the bytes of recently read messages by blob ID. A FETCH whose
// records and bytes are all cached reads only msgflags (UIDs, flags,
// MODSEQs, sizes) from PostgreSQL instead of joining messages and
// blobdata: a client's message list (FLAGS RFC822.SIZE ENVELOPE), and
// a whole message (RFC822.SIZE BODY.PEEK[]).
//
// None of it needs invalidation across nodes. A record never changes
// for a given mailbox id and UID: mailbox ids come from an identity
// column and are never reused, a UID is never reused within a mailbox,
// and SetUIDValidity only renumbers a mailbox that never held a
// message. The exceptions are a THREADID of 0 (a message stored before
// threads were computed, which the backfill gives one later: such a
// record is not cached) and the RFC 8970 preview (SetPreview adds it
// later: not cached). A blob ID is the SHA-256 of the bytes. Whether a
// message still exists, and its flags, are read from msgflags by every
// FETCH, so another node's expunge or STORE is in the answer at once;
// an entry of an expunged message is simply never asked for again and
// ages out.
//
// Two generations bound each cache (record: Options.RecordCacheBytes,
// [storage] record_cache_bytes; bytes: Options.BlobCacheBytes,
// [storage] blob_cache_bytes): entries go into the current one; when it
// holds half the budget it becomes the old one and the previous old one
// is dropped; a hit in the old generation moves the entry to the
// current.

// recCacheMaxFetch is the size from which a FETCH bypasses the record
// cache: a scan of a whole large mailbox would push out every page
// clients list.
const recCacheMaxFetch = 512

// recEntOverhead approximates an entry's memory besides its bytes.
const recEntOverhead = 128

// recFields are the fields the record cache can hold.
const recFields = store.FieldBasics | store.FieldHeader | store.FieldStructure | store.FieldEnvelope

type recKey struct {
	mailbox int64
	uid     store.UID
}

// recEnt is one message's immutable record, as far as read (have).
// Published entries are never modified (a merge makes a new one).
type recEnt struct {
	have Fields
	// inlineKnown: whether the bytes are kept in blobdata is known
	// (inline), from a read with store.FieldInline.
	inlineKnown, inline bool

	blobID                      string
	size                        int64
	internalDate, saveDate      time.Time
	emailID, threadID           int64
	header, structure, envelope []byte
}

func (e *recEnt) cost() int {
	return recEntOverhead + len(e.blobID) + len(e.header) + len(e.structure) + len(e.envelope)
}

// merged returns e with what n adds (n is from a later read of the
// same immutable record).
func (e *recEnt) merged(n *recEnt) *recEnt {
	if e == nil {
		return n
	}
	if n.have&^e.have == 0 && (e.inlineKnown || !n.inlineKnown) {
		return e
	}
	m := *e
	if n.have&store.FieldBasics != 0 {
		m.blobID, m.size, m.internalDate, m.saveDate, m.emailID, m.threadID = n.blobID, n.size, n.internalDate, n.saveDate, n.emailID, n.threadID
	}
	if n.have&store.FieldHeader != 0 {
		m.header = n.header
	}
	if n.have&store.FieldStructure != 0 {
		m.structure = n.structure
	}
	if n.have&store.FieldEnvelope != 0 {
		m.envelope = n.envelope
	}
	if n.inlineKnown {
		m.inlineKnown, m.inline = true, n.inline
	}
	m.have |= n.have
	return &m
}

// genCache is a map bounded by two generations.
type genCache[K comparable, V any] struct {
	mu       sync.Mutex
	max      int // bytes; 0: off
	cost     func(V) int
	cur, old map[K]V
	curBytes int
}

func newGenCache[K comparable, V any](budget int, cost func(V) int) *genCache[K, V] {
	return &genCache[K, V]{max: max(budget, 0), cost: cost, cur: map[K]V{}}
}

func (c *genCache[K, V]) on() bool { return c != nil && c.max > 0 }

func (c *genCache[K, V]) getLocked(k K) (V, bool) {
	v, ok := c.cur[k]
	if !ok {
		if v, ok = c.old[k]; ok {
			c.putLocked(k, v)
		}
	}
	return v, ok
}

func (c *genCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(k)
}

func (c *genCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	c.putLocked(k, v)
	c.mu.Unlock()
}

// putLocked stores v under k, replacing what the current generation
// holds (the bytes it counted stay counted until the generation turns).
func (c *genCache[K, V]) putLocked(k K, v V) {
	cost := c.cost(v)
	if cost > c.max/2 {
		return // would empty a generation on its own
	}
	if c.curBytes+cost > c.max/2 {
		c.old, c.cur, c.curBytes = c.cur, map[K]V{}, 0
	}
	c.cur[k] = v
	c.curBytes += cost
}

// bytes is what the cache holds, about.
func (c *genCache[K, V]) bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.curBytes
	for _, v := range c.old {
		n += c.cost(v)
	}
	return n
}

type recCache struct{ *genCache[recKey, *recEnt] }

func newRecCache(budget int) *recCache {
	return &recCache{newGenCache[recKey](budget, (*recEnt).cost)}
}

// blobCache holds message bytes by blob ID.
type blobCache = genCache[string, []byte]

func newBlobCache(budget int) *blobCache {
	return newGenCache[string](budget, func(b []byte) int { return len(b) + 64 + 64 })
}

// lookupRecs returns the cached records of uids in mailbox, in order,
// each holding at least want, or ok=false if any is missing.
func (c *recCache) lookupRecs(mailbox int64, uids []store.UID, want Fields, inline bool) ([]*recEnt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*recEnt, len(uids))
	for i, u := range uids {
		e, ok := c.getLocked(recKey{mailbox, u})
		if !ok || want&^e.have != 0 || (inline && !e.inlineKnown) {
			return nil, false
		}
		out[i] = e
	}
	return out, true
}

// fill records what a read of m with fields found.
func (c *recCache) fill(m *store.Message, fields Fields) {
	have := fields & recFields
	if have&store.FieldBasics != 0 && m.ThreadID == 0 {
		have &^= store.FieldBasics // the backfill may give it a thread
	}
	if have == 0 {
		return
	}
	n := &recEnt{have: have, blobID: m.BlobID, size: m.Size, internalDate: m.InternalDate, saveDate: m.SaveDate,
		emailID: m.EmailID, threadID: m.ThreadID, header: m.Header, structure: m.Structure, envelope: m.Envelope}
	if fields&store.FieldInline != 0 && have&store.FieldBasics != 0 {
		n.inlineKnown, n.inline = true, m.Inline != nil
	}
	k := recKey{m.MailboxID, m.UID}
	c.mu.Lock()
	old, _ := c.getLocked(k)
	if e := old.merged(n); e != old {
		c.putLocked(k, e)
	}
	c.mu.Unlock()
}

// fetchCached is FetchMessages through the record and blob caches for
// fields the record cache can serve (besides flags, sizes and inline
// bytes), ok=false when the request is not one it serves. When every
// UID's record (and, with store.FieldInline, every inline message's
// bytes) is cached it reads msgflags alone; otherwise the full query
// runs and fills the caches.
func (s *Store) fetchCached(run func(fields Fields, fn func(*store.Message) error) error, mailboxID int64, uids []store.UID, fields Fields, fn func(*store.Message) error) (bool, error) {
	immut := fields & recFields
	if !s.rec.on() || immut == 0 || fields&^(store.FieldFlags|store.FieldSize|store.FieldInline|recFields) != 0 || len(uids) > recCacheMaxFetch {
		return false, nil
	}
	inline := fields&store.FieldInline != 0
	if inline && !s.blobs.on() {
		return false, nil
	}
	if recs, ok := s.rec.lookupRecs(mailboxID, uids, immut, inline); ok {
		var data [][]byte
		if inline {
			data = make([][]byte, len(recs))
			for i, e := range recs {
				if !e.inline {
					continue // in the blob store: the caller opens it
				}
				if data[i], ok = s.blobs.get(e.blobID); !ok {
					break
				}
			}
		}
		if ok {
			i := 0
			return true, run(fields&store.FieldFlags|store.FieldSize, func(m *store.Message) error {
				for i < len(uids) && uids[i] < m.UID {
					i++
				}
				if i < len(uids) && uids[i] == m.UID {
					e := recs[i]
					m.Envelope, m.Header, m.Structure = e.envelope, e.header, e.structure
					if fields&store.FieldBasics != 0 {
						m.BlobID, m.EmailID, m.ThreadID = e.blobID, e.emailID, e.threadID
						m.InternalDate, m.SaveDate = e.internalDate, e.saveDate
					}
					if data != nil {
						m.Inline = data[i]
					}
				}
				return fn(m)
			})
		}
	}
	return true, run(fields, func(m *store.Message) error {
		s.rec.fill(m, fields)
		if m.Inline != nil && s.blobs.on() {
			s.blobs.put(m.BlobID, m.Inline)
		}
		return fn(m)
	})
}

// CachedBlob returns the bytes of blob id if this node's blob cache
// holds them (blob/tiered asks before it reads the blob). The slice is
// shared: read only.
func (s *Store) CachedBlob(id string) ([]byte, bool) {
	if !s.blobs.on() {
		return nil, false
	}
	return s.blobs.get(id)
}

// CacheBlob keeps the bytes of blob id in this node's blob cache, if
// they fit (blob/tiered calls it after reading a blob from the blob
// store; the bytes of a blob never change). The caller gives b up.
func (s *Store) CacheBlob(id string, b []byte) {
	if s.blobs.on() {
		s.blobs.put(id, b)
	}
}

// BlobCacheMax is the largest blob from the blob store that blob/tiered
// reads whole into the cache: a 64th of the budget (1 MiB of the
// default 64 MiB), so that a partial FETCH of a large attachment is
// still a ranged read and one message never turns a generation over.
func (s *Store) BlobCacheMax() int64 {
	if !s.blobs.on() {
		return 0
	}
	return int64(s.blobs.max / 64)
}
