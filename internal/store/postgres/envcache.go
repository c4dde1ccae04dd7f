package postgres

import (
	"sync"

	"barid/internal/store"
)

// The envelope cache keeps recently read ENVELOPEs in the node's
// memory, so a FETCH of (FLAGS RFC822.SIZE ENVELOPE), the page a client
// lists, reads only msgflags (UIDs, flags, MODSEQs, sizes) from
// PostgreSQL instead of joining messages. An ENVELOPE never changes for
// a given mailbox id and UID: mailbox ids come from an identity column
// and are never reused, a UID is never reused within a mailbox, and
// SetUIDValidity only renumbers a mailbox that never held a message. So
// an entry is correct on every node without invalidation, whatever
// other nodes write; one for an expunged message is simply never asked
// for again (the flags query no longer returns its UID) and ages out.
//
// Two generations bound it (Options.RecordCacheBytes, [storage]
// record_cache_bytes): entries go into the current one; when it holds
// half the budget it becomes the old one and the previous old one is
// dropped; a hit in the old generation moves the entry to the current.

// envCacheMaxFetch is the size from which a FETCH bypasses the cache: a
// scan of a whole large mailbox would push out every page clients list.
const envCacheMaxFetch = 512

// envEntOverhead approximates an entry's memory besides its bytes.
const envEntOverhead = 64

type envKey struct {
	mailbox int64
	uid     store.UID
}

type envCache struct {
	mu       sync.Mutex
	max      int // bytes; 0: off
	cur, old map[envKey][]byte
	curBytes int
}

func newEnvCache(max int) *envCache {
	if max < 0 {
		max = 0
	}
	return &envCache{max: max, cur: map[envKey][]byte{}}
}

func (c *envCache) on() bool { return c != nil && c.max > 0 }

// lookup returns the envelopes of uids in mailbox, in order, or
// ok=false if any is missing. The slices are shared: read only.
func (c *envCache) lookup(mailbox int64, uids []store.UID) ([][]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]byte, len(uids))
	for i, u := range uids {
		k := envKey{mailbox, u}
		v, ok := c.cur[k]
		if !ok {
			if v, ok = c.old[k]; !ok {
				return nil, false
			}
			c.putLocked(k, v)
		}
		out[i] = v
	}
	return out, true
}

func (c *envCache) put(mailbox int64, uid store.UID, env []byte) {
	c.mu.Lock()
	c.putLocked(envKey{mailbox, uid}, env)
	c.mu.Unlock()
}

func (c *envCache) putLocked(k envKey, v []byte) {
	if _, ok := c.cur[k]; ok {
		return
	}
	cost := len(v) + envEntOverhead
	if c.curBytes+cost > c.max/2 {
		c.old, c.cur, c.curBytes = c.cur, map[envKey][]byte{}, 0
	}
	c.cur[k] = v
	c.curBytes += cost
}

// bytes is what the cache holds, about.
func (c *envCache) bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.curBytes
	for _, v := range c.old {
		n += len(v) + envEntOverhead
	}
	return n
}

// fetchEnvelopes is FetchMessages for fields that ask for ENVELOPE and
// otherwise only flags and sizes (the FETCH of a client's message list),
// through the envelope cache; ok=false when the request is not one it
// serves. A hit for every UID reads msgflags alone; otherwise the join
// runs and fills the cache.
func (s *Store) fetchEnvelopes(run func(fields Fields, fn func(*store.Message) error) error, mailboxID int64, uids []store.UID, fields Fields, fn func(*store.Message) error) (bool, error) {
	if !s.env.on() || fields&store.FieldEnvelope == 0 || fields&^(store.FieldFlags|store.FieldSize|store.FieldEnvelope) != 0 || len(uids) > envCacheMaxFetch {
		return false, nil
	}
	if envs, ok := s.env.lookup(mailboxID, uids); ok {
		i := 0
		return true, run(fields&^store.FieldEnvelope, func(m *store.Message) error {
			for i < len(uids) && uids[i] < m.UID {
				i++
			}
			if i < len(uids) && uids[i] == m.UID {
				m.Envelope = envs[i]
			}
			return fn(m)
		})
	}
	return true, run(fields, func(m *store.Message) error {
		if m.Envelope != nil {
			s.env.put(mailboxID, m.UID, m.Envelope)
		}
		return fn(m)
	})
}
