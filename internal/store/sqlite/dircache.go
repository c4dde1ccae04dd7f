package sqlite

import (
	"sync"
	"sync/atomic"

	"barid/internal/store"
)

// The recipient directory kept between the writer's own commits.
//
// Every LMTP RCPT and delivery asks the same few questions: is the
// address an alias (AliasTarget), is it an account (Account, and
// AccountByID for an alias), which Sieve script is active
// (ActiveSieveScriptDigest). With the recipient "user@localhost" in a
// local domain that is six reads a delivery, three of them misses (the
// alias table and the account table asked for "user@localhost" before
// "user"): about 11 % of the server's CPU for a 10 KB delivery
// (docs/benchmarks.md, "Delivery at the disk's limit", session 13).
// IMAP and POP3 logins read the account by name too.
//
// dirCache keeps those answers, misses included, for one ownChain
// generation (walstamp.go) and one directory epoch: while every commit
// since an answer was read was this store's writer's and none of them
// wrote the accounts, aliases or sieve_scripts tables, the answer still
// holds. A commit of another connection or process (barid user, barid
// alias, barid sieve run from a shell, a second server on the same
// file) ends the generation at once, because the WAL-index header no
// longer matches the writer's last. A commit of the writer that wrote
// one of the three tables moves the epoch on (Store.dirEpoch), after
// its COMMIT and before the chain takes that commit as its own or its
// caller returns: for accounts and sieve_scripts (rowid tables) the
// pre-update hook sees every row changed, through triggers and the
// deletion of an account too (hookMailboxes); aliases is WITHOUT ROWID,
// which the hook does not see, so the statements that write it
// (AddAlias, DeleteAlias, DeleteAccount) mark the transaction
// themselves. ManageSieve and the CLI's control socket write through
// this writer, so their changes apply to the next delivery as before.
// The epoch, not the chain, moves for these writes, so the flag index
// and the mailbox rows kept across the writer's commits stay valid.
//
// A reader takes the generation and then the epoch before its SQLite
// read and files the answer under both: an answer read across a change
// lands under a key that is already over and is never served.
type dirCache struct {
	mu sync.Mutex
	// gen is the dirKey the answers belong to.
	gen dirKey
	// byName: accounts and misses (nil) by normalised name; byID by id.
	byName map[string]*store.Account
	byID   map[int64]*store.Account
	// alias: the account id of an alias address, 0 for none.
	alias map[string]int64
	// script: the active Sieve script's name and digest by account
	// ("" for none).
	script map[int64]activeScript

	// hits and misses count lookups (tests, docs).
	hits, misses atomic.Int64
}

type activeScript struct {
	name   string
	digest []byte
}

// dirCacheMax bounds the entries of each map; past it that map starts
// afresh.
const dirCacheMax = 4096

// dirKey is the ownChain generation and the directory epoch answers
// are valid for.
type dirKey struct{ chain, epoch uint64 }

// older reports whether k comes before l: an older chain generation, or
// the same one at an older epoch.
func (k dirKey) older(l dirKey) bool {
	return k.chain < l.chain || k.chain == l.chain && k.epoch < l.epoch
}

// dirGen returns the key a lookup may use, false when answers cannot be
// kept (no WAL stamp, no pre-update hook, or a commit that was not the
// writer's since its last).
func (s *Store) dirGen() (dirKey, bool) {
	if !s.dirHooked {
		return dirKey{}, false
	}
	// The chain first: a generation current after a writer's commit
	// that moved the epoch comes with the new epoch, read after it.
	gen, ok := s.chain.current(s.wal.stamp())
	return dirKey{gen, s.dirEpoch.Load()}, ok
}

// atLocked moves the cache to key gen, dropping older answers; it
// returns false if gen is older than the cache's.
func (c *dirCache) atLocked(gen dirKey) bool {
	if c.gen != gen || c.byName == nil {
		if gen.older(c.gen) {
			return false
		}
		c.gen = gen
		c.byName = map[string]*store.Account{}
		c.byID = map[int64]*store.Account{}
		c.alias = map[string]int64{}
		c.script = map[int64]activeScript{}
	}
	return true
}

func copyAccount(a *store.Account) *store.Account {
	if a == nil {
		return nil
	}
	cp := *a
	cp.Secret = append([]byte(nil), a.Secret...)
	return &cp
}

// dirGet looks key up in the map of c that pick names, if generation
// gen holds answers, and counts the hit or miss.
func dirGet[K comparable, V any](c *dirCache, gen dirKey, pick func(*dirCache) map[K]V, key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.atLocked(gen) {
		var zero V
		return zero, false
	}
	v, ok := pick(c)[key]
	c.count(ok)
	return v, ok
}

// dirPut files v under key in the map of c that pick names, if gen is
// still current.
func dirPut[K comparable, V any](c *dirCache, gen dirKey, pick func(*dirCache) *map[K]V, key K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.atLocked(gen) {
		putBounded(pick(c), key, v)
	}
}

// putBounded sets (*m)[key]; a map holding dirCacheMax entries starts
// afresh first.
func putBounded[K comparable, V any](m *map[K]V, key K, v V) {
	if len(*m) >= dirCacheMax {
		*m = map[K]V{}
	}
	(*m)[key] = v
}

// account returns the account named name (nil: none) if generation gen
// holds an answer.
func (c *dirCache) account(gen dirKey, name string) (*store.Account, bool) {
	a, ok := dirGet(c, gen, func(c *dirCache) map[string]*store.Account { return c.byName }, name)
	return copyAccount(a), ok
}

// accountByID is account by id; only accounts that exist are kept.
func (c *dirCache) accountByID(gen dirKey, id int64) (*store.Account, bool) {
	a, ok := dirGet(c, gen, func(c *dirCache) map[int64]*store.Account { return c.byID }, id)
	return copyAccount(a), ok
}

// putAccount files the answer for name (a nil a: no such account), and
// an account by its id too.
func (c *dirCache) putAccount(gen dirKey, name string, a *store.Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.atLocked(gen) {
		return
	}
	putBounded(&c.byName, name, copyAccount(a))
	if a != nil {
		putBounded(&c.byID, a.ID, copyAccount(a))
	}
}

func (c *dirCache) putAccountByID(gen dirKey, a *store.Account) {
	dirPut(c, gen, func(c *dirCache) *map[int64]*store.Account { return &c.byID }, a.ID, copyAccount(a))
}

// aliasTarget returns the account of alias address (0: none).
func (c *dirCache) aliasTarget(gen dirKey, address string) (int64, bool) {
	return dirGet(c, gen, func(c *dirCache) map[string]int64 { return c.alias }, address)
}

func (c *dirCache) putAlias(gen dirKey, address string, id int64) {
	dirPut(c, gen, func(c *dirCache) *map[string]int64 { return &c.alias }, address, id)
}

// activeScript returns the active script's name and digest of account.
func (c *dirCache) activeScript(gen dirKey, account int64) (string, []byte, bool) {
	e, ok := dirGet(c, gen, func(c *dirCache) map[int64]activeScript { return c.script }, account)
	return e.name, append([]byte(nil), e.digest...), ok
}

func (c *dirCache) putScript(gen dirKey, account int64, name string, digest []byte) {
	dirPut(c, gen, func(c *dirCache) *map[int64]activeScript { return &c.script }, account,
		activeScript{name: name, digest: append([]byte(nil), digest...)})
}

func (c *dirCache) count(hit bool) {
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
}
