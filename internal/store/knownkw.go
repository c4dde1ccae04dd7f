package store

import "sync"

// knownKeywordsMax bounds the keyword spellings a KnownKeywords holds
// (all mailboxes together); past it the cache starts over empty. It is a
// cache, not a limit: a spelling not held costs the backend's keyword
// lookup in the write that needs it.
const knownKeywordsMax = 1 << 16

// KeywordBox names one mailbox for KnownKeywords: its id with its
// UIDVALIDITY (a new mailbox always gets a new UIDVALIDITY, so the pair
// stays unique where a backend reuses ids).
type KeywordBox struct {
	ID          int64
	UIDValidity uint32
}

// KnownKeywords remembers, across write transactions, the keyword
// spellings committed in each mailbox's keywords table, so that a write
// of a message with a keyword the mailbox already has (a Sieve script's
// addflag on every delivery) need not look it up again. Each backend
// adds a spelling only after the transaction that read or inserted it
// committed, and says when the cache must be dropped (the SQLite store:
// knownkw.go; the PostgreSQL store never needs to, its ids being never
// reused).
type KnownKeywords struct {
	mu    sync.Mutex
	boxes map[KeywordBox]map[string]string
	n     int
}

// Get returns the spelling of lname (lower case) committed in b, if held.
func (k *KnownKeywords) Get(b KeywordBox, lname string) (string, bool) {
	k.mu.Lock()
	name, ok := k.boxes[b][lname]
	k.mu.Unlock()
	return name, ok
}

// Add records that b has lname spelled name; the first spelling stays.
func (k *KnownKeywords) Add(b KeywordBox, lname, name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n >= knownKeywordsMax {
		k.boxes, k.n = nil, 0
	}
	if k.boxes == nil {
		k.boxes = map[KeywordBox]map[string]string{}
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

// Forget drops everything held.
func (k *KnownKeywords) Forget() {
	k.mu.Lock()
	k.boxes, k.n = nil, 0
	k.mu.Unlock()
}
