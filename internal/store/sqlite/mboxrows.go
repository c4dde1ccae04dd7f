package sqlite

import (
	"database/sql"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	msqlite "modernc.org/sqlite"

	"barid/internal/store"
)

// Mailbox rows kept current by the writer.
//
// SELECT, STATUS, APPEND and every other command that names a mailbox
// look it up by name (Store.Mailbox), and LIST reads the account's
// mailboxes (Store.Mailboxes). Under imaptest some commit lands between
// any two commands, and each one makes every reader connection drop its
// page cache (docs/benchmarks.md, "Session 11"), so the stamp-checked
// mboxCache (walstamp.go) rarely answered and these reads cost about
// 7 % of the server's CPU, most of it re-reading b-tree pages.
//
// The writer knows which mailbox rows each of its transactions changes:
// SQLite's pre-update hook (https://www.sqlite.org/c3ref/preupdate_count.html)
// fires for every row an INSERT, UPDATE or DELETE changes in a rowid
// table, triggers included, and mailboxes is one. Before COMMIT the
// writer reads each changed row again on its own connection (its pages
// are in its cache) and, after COMMIT, puts the new rows here, so the
// rows stay as SQLite has them across the writer's own commits
// (ownChain, walstamp.go), as the flag index does. A commit of another
// connection or process ends the chain's generation, and with it every
// row kept here. One column is not in the mailboxes table: Subscribed,
// from subscriptions, a WITHOUT ROWID table the hook does not see; the
// writes to it (SetSubscribed, DeleteAccount) end the generation.
type mboxRows struct {
	mu sync.Mutex
	// gen is the ownChain generation the rows belong to; rows of an
	// older one are dropped when a newer one is seen.
	gen uint64
	// epoch counts the writer's installs: a reader puts a row it read
	// from SQLite only if no install came between its read and its put,
	// so an older row never replaces a newer one.
	epoch uint64
	byID  map[int64]*boxRow
	// byName maps account and name to the mailbox id; complete lists
	// the accounts whose every mailbox is in byID (Mailboxes).
	byName   map[mboxKey]int64
	complete map[int64]bool

	// hits and misses count lookups (tests, docs).
	hits, misses atomic.Int64
}

// boxRow is one mailbox row; with statusOK, st also holds its STATUS
// counters (MailboxStatus).
type boxRow struct {
	st       store.Status
	statusOK bool
}

// mboxRowsMax bounds the rows kept; past it the cache starts afresh.
const mboxRowsMax = 4096

// recentCountMax bounds the \Recent count the writer makes for each
// mailbox row it reads again (readTouched): a mailbox with more
// messages at or above FirstRecent (mail delivered where no session has
// looked) keeps no counters here, and its STATUS reads SQLite.
const recentCountMax = 256

// resetLocked drops every row and moves to generation gen.
func (c *mboxRows) resetLocked(gen uint64) {
	c.gen = gen
	c.byID = map[int64]*boxRow{}
	c.byName = map[mboxKey]int64{}
	c.complete = map[int64]bool{}
}

// at returns the cache for generation gen, under c.mu, or false if it
// cannot answer for it.
func (c *mboxRows) atLocked(gen uint64) bool {
	if c.byID == nil || c.gen != gen {
		if gen < c.gen {
			return false
		}
		c.resetLocked(gen)
	}
	return true
}

// getByName returns a copy of the row of (account, name) in generation
// gen, and the epoch a reader that misses should pass to put.
func (c *mboxRows) getByName(gen uint64, account int64, name string) (*store.Mailbox, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.atLocked(gen) {
		return nil, 0, false
	}
	if id, ok := c.byName[mboxKey{account, name}]; ok {
		mb := c.byID[id].st.Mailbox
		c.hits.Add(1)
		return &mb, c.epoch, true
	}
	c.misses.Add(1)
	return nil, c.epoch, false
}

// getByID is getByName by id.
func (c *mboxRows) getByID(gen uint64, id int64) (*store.Mailbox, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.atLocked(gen) {
		return nil, 0, false
	}
	if r, ok := c.byID[id]; ok {
		cp := r.st.Mailbox
		c.hits.Add(1)
		return &cp, c.epoch, true
	}
	c.misses.Add(1)
	return nil, c.epoch, false
}

// getStatus is getByID for the row with its STATUS counters.
func (c *mboxRows) getStatus(gen uint64, id int64) (*store.Status, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.atLocked(gen) {
		return nil, 0, false
	}
	if r, ok := c.byID[id]; ok && r.statusOK {
		cp := r.st
		c.hits.Add(1)
		return &cp, c.epoch, true
	}
	c.misses.Add(1)
	return nil, c.epoch, false
}

// list returns copies of the account's rows ordered by name, if they
// are all here.
func (c *mboxRows) list(gen uint64, account int64) ([]store.Mailbox, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.atLocked(gen) {
		return nil, 0, false
	}
	if !c.complete[account] {
		c.misses.Add(1)
		return nil, c.epoch, false
	}
	var out []store.Mailbox
	for k, id := range c.byName {
		if k.account == account {
			out = append(out, c.byID[id].st.Mailbox)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	c.hits.Add(1)
	return out, c.epoch, true
}

// putLocked records one row.
func (c *mboxRows) putLocked(r *boxRow) {
	mb := &r.st.Mailbox
	if old, ok := c.byID[mb.ID]; ok {
		if old.st.Mailbox.AccountID == mb.AccountID && old.st.Mailbox.Name == mb.Name {
			*old = *r // the usual case: new counters, same name
			return
		}
		delete(c.byName, mboxKey{old.st.Mailbox.AccountID, old.st.Mailbox.Name})
	}
	cp := *r
	c.byID[mb.ID] = &cp
	c.byName[mboxKey{mb.AccountID, mb.Name}] = mb.ID
}

// put records rows a reader read from SQLite in generation gen after
// epoch (from the get that missed); all says they are every mailbox of
// account.
func (c *mboxRows) put(gen, epoch uint64, account int64, rows []store.Mailbox, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil || c.gen != gen || c.epoch != epoch {
		return
	}
	if len(c.byID)+len(rows) > mboxRowsMax {
		c.resetLocked(gen)
	}
	for i := range rows {
		// A row already here is as current (no install since the
		// get that missed) and may hold its counters too.
		if _, ok := c.byID[rows[i].ID]; !ok {
			c.putLocked(&boxRow{st: store.Status{Mailbox: rows[i]}})
		}
	}
	if all {
		c.complete[account] = true
	}
}

// putStatus records a row with its counters, read from SQLite by
// MailboxStatus in generation gen after epoch.
func (c *mboxRows) putStatus(gen, epoch uint64, st *store.Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil || c.gen != gen || c.epoch != epoch {
		return
	}
	if len(c.byID)+1 > mboxRowsMax {
		c.resetLocked(gen)
	}
	c.putLocked(&boxRow{st: *st, statusOK: true})
}

// install is the writer's: after its COMMIT, in generation gen, the
// rows of changed are as given (nil: deleted).
func (c *mboxRows) install(gen uint64, changed map[int64]*boxRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if !c.atLocked(gen) {
		return
	}
	if len(c.byID)+len(changed) > mboxRowsMax {
		c.resetLocked(gen)
	}
	for id, mb := range changed {
		if mb == nil {
			if old, ok := c.byID[id]; ok {
				delete(c.byName, mboxKey{old.st.Mailbox.AccountID, old.st.Mailbox.Name})
				delete(c.byID, id)
			}
			continue
		}
		// A new mailbox of an account whose list is complete keeps it
		// complete: this is the row.
		c.putLocked(mb)
	}
}

// hookMailboxes registers, on the writer's connection, the pre-update
// hook that records the ids of the mailbox rows the open transaction
// changes, and marks a transaction that writes the accounts or
// sieve_scripts table (dircache.go). It returns false if the driver
// has no hooks: then the writer keeps no rows, the recipient directory
// keeps nothing, and readers read SQLite.
func (w *writer) hookMailboxes() bool {
	ok := false
	err := w.conn.Raw(func(dc any) error {
		h, is := dc.(msqlite.HookRegisterer)
		if !is {
			return nil
		}
		h.RegisterPreUpdateHook(func(d msqlite.SQLitePreUpdateData) {
			if d.DatabaseName != "main" {
				return
			}
			switch d.TableName {
			case "mailboxes":
			case "accounts", "sieve_scripts":
				// What the recipient directory keeps (dircache.go).
				w.dirTouched = true
				return
			default:
				return
			}
			if w.boxTouched == nil {
				w.boxTouched = map[int64]bool{}
			}
			// An UPDATE may change the rowid: both are touched.
			w.boxTouched[d.OldRowID] = true
			w.boxTouched[d.NewRowID] = true
		})
		ok = true
		return nil
	})
	return err == nil && ok
}

// readTouched reads, inside the open transaction, the rows the hook saw
// changed: nil for a row that no longer exists. A failed read returns
// ok false (the caller ends the chain's generation instead).
func (w *writer) readTouched() (map[int64]*boxRow, bool) {
	if len(w.boxTouched) == 0 {
		return nil, true
	}
	out := make(map[int64]*boxRow, len(w.boxTouched))
	// MailboxStatus's statement, with the \Recent count bounded.
	q, err := w.stmt(`SELECT ` + mailboxCols + `, m.messages, m.unseen, m.deleted, m.size,
		(SELECT count(*) FROM (SELECT 1 FROM msgflags f WHERE f.mailbox = m.id AND f.uid >= m.firstrecent LIMIT ` +
		strconv.Itoa(recentCountMax+1) + `))
		FROM mailboxes m WHERE m.id = ?`)
	if err != nil {
		return nil, false
	}
	for id := range w.boxTouched {
		if id == 0 {
			continue
		}
		r := &boxRow{}
		st := &r.st
		err := q.QueryRowContext(w.ctx(), id).Scan(mailboxDests(&st.Mailbox, &st.Messages, &st.Unseen, &st.Deleted, &st.Size, &st.Recent)...)
		switch {
		case err == sql.ErrNoRows:
			out[id] = nil
		case err != nil:
			return nil, false
		default:
			r.statusOK = st.Recent <= recentCountMax
			out[id] = r
		}
	}
	return out, true
}

// touchMailbox makes the writer read mailbox id's row again before
// COMMIT, for a change the hook does not see.
func (t *wtx) touchMailbox(id int64) {
	if t.w.boxTouched == nil {
		t.w.boxTouched = map[int64]bool{}
	}
	t.w.boxTouched[id] = true
}
