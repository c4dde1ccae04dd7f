package postgres

import (
	"sync"

	"github.com/jackc/pgx/v5"
)

// knownKeywordsMax bounds the keyword spellings knownKeywords holds (all
// mailboxes together); past it the cache starts over empty. It is a
// cache, not a limit: a spelling not held costs the keyword statement
// (one round trip) in the append that needs it.
const knownKeywordsMax = 1 << 16

// kwBox names one mailbox for knownKeywords: its id (an identity,
// never reused) with its UIDVALIDITY.
type kwBox struct {
	id          int64
	uidvalidity uint32
}

// knownKeywords remembers keyword spellings committed in each
// mailbox's keywords table, so that an append of a message with a
// keyword the mailbox already has (a Sieve script's addflag on every
// delivery) needs no INSERT ... ON CONFLICT round trip. What it holds
// is exact on every node sharing the database: the table only grows
// while a mailbox lives, a spelling never changes (keywordCache), a
// mailbox id is never reused, and a fact is added only after the
// transaction that read or inserted it committed (ptx.afterCommit).
type knownKeywords struct {
	mu    sync.Mutex
	boxes map[kwBox]map[string]string
	n     int
}

func (k *knownKeywords) get(b kwBox, lname string) (string, bool) {
	k.mu.Lock()
	name, ok := k.boxes[b][lname]
	k.mu.Unlock()
	return name, ok
}

func (k *knownKeywords) add(b kwBox, lname, name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n >= knownKeywordsMax {
		k.boxes, k.n = nil, 0
	}
	if k.boxes == nil {
		k.boxes = map[kwBox]map[string]string{}
	}
	m := k.boxes[b]
	if m == nil {
		m = map[string]string{}
		k.boxes[b] = m
	}
	if _, ok := m[lname]; !ok {
		m[lname] = name
		k.n++
	}
}

// learnKeyword makes the spelling known once tx commits; a tx that is
// not this store's own (ptx) teaches nothing.
func (s *Store) learnKeyword(tx pgx.Tx, b kwBox, lname, name string) {
	if t, ok := tx.(*ptx); ok {
		t.afterCommit = append(t.afterCommit, func() { s.kwKnown.add(b, lname, name) })
	}
}
