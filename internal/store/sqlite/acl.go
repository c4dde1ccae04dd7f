package sqlite

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"barid/internal/store"
)

var _ store.ACLStore = (*Store)(nil)

// ACL implements store.ACLStore.
func (s *Store) ACL(ctx context.Context, mailboxID int64) ([]store.ACLEntry, error) {
	var out []store.ACLEntry
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT identifier, rights FROM acl WHERE mailbox = ? ORDER BY identifier`, mailboxID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e store.ACLEntry
			if err := rows.Scan(&e.Identifier, &e.Rights); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// SetACL implements store.ACLStore.
func (s *Store) SetACL(ctx context.Context, mailboxID int64, identifier, rights string) error {
	return s.write(ctx, func(t *wtx) error {
		// aclNone's answer is kept for the chain's generation: a change
		// of the acl table ends it (ownChain, walstamp.go).
		t.w.chainBreak = true
		var n int
		if err := t.queryRow(`SELECT count(*) FROM mailboxes WHERE id = ?`, mailboxID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNoMailbox
		}
		if rights == "" {
			_, err := t.exec(`DELETE FROM acl WHERE mailbox = ? AND identifier = ?`, mailboxID, identifier)
			return err
		}
		_, err := t.exec(`INSERT INTO acl (mailbox, identifier, rights) VALUES (?, ?, ?)
			ON CONFLICT (mailbox, identifier) DO UPDATE SET rights = excluded.rights`, mailboxID, identifier, rights)
		return err
	})
}

// SharedWith implements store.ACLStore: one query reads the entries
// that apply (the identifiers', the account's stored groups', and their
// negative forms, through the acl_identifier index) with their
// mailboxes and owners.
func (s *Store) SharedWith(ctx context.Context, accountID int64, account string, identifiers []string) ([]store.SharedMailbox, error) {
	args := make([]any, 0, 2*len(identifiers)+2)
	for _, id := range identifiers {
		args = append(args, id, "-"+id)
	}
	args = append(args, account, accountID)
	// The identifiers that apply, then every stored group's with and
	// without "-".
	set := `SELECT p.s || '$' || g.grp FROM groups g, (SELECT '' AS s UNION ALL SELECT '-') p WHERE g.account = ?`
	if len(identifiers) > 0 {
		set = `VALUES (?)` + strings.Repeat(", (?)", 2*len(identifiers)-1) + ` UNION ALL ` + set
	}
	// CROSS JOIN fixes the join order (SQLite keeps the tables in the
	// order written): the acl_identifier index first, then each entry's
	// mailbox and owner by primary key. Left to the planner, with the
	// statistics a bench data folder had at 300 accounts and 1,800
	// mailboxes (sqlite_stat1, written by PRAGMA optimize when the store
	// was young, said 1 account and 6 mailboxes), it walked every
	// account and every mailbox on the server and probed acl for each:
	// about 260 µs per LIST, a tenth of the server's CPU in the mix
	// benchmark, growing with the number of accounts
	// (TestSharedWithPlan; docs/benchmarks.md, "Session 8").
	q := sharedWithQuery(set)
	if s.aclNone(ctx) {
		// Nothing is shared with anyone: every row of the query comes
		// from acl.
		return nil, nil
	}
	var out []store.SharedMailbox
	err := s.read(ctx, func(r *reader) error {
		out = out[:0]
		rows, err := r.query(q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var cur store.SharedMailbox
		for rows.Next() {
			var sm store.SharedMailbox
			var e store.ACLEntry
			mb := &sm.Mailbox
			if err := rows.Scan(&mb.ID, &mb.AccountID, &mb.Name, &mb.UIDValidity, &mb.UIDNext, &mb.HighestModSeq, &mb.FirstRecent, &mb.SpecialUse, &sm.Owner,
				&e.Identifier, &e.Rights); err != nil {
				return err
			}
			if cur.Mailbox.ID != mb.ID {
				out = store.AppendShared(out, cur)
				cur = sm
			}
			cur.ACL = append(cur.ACL, e)
		}
		out = store.AppendShared(out, cur)
		return rows.Err()
	})
	return out, err
}

// sharedWithQuery is SharedWith's query for the identifier set set.
func sharedWithQuery(set string) string {
	return `SELECT m.id, m.account, m.name, m.uidvalidity, m.uidnext, m.highestmodseq, m.firstrecent, m.special_use,
			(SELECT a.name FROM accounts a WHERE a.id = m.account) AS owner,
			l.identifier, l.rights
		FROM acl l CROSS JOIN mailboxes m ON m.id = l.mailbox
		WHERE l.identifier IN (` + set + `) AND m.account <> ?
		ORDER BY owner, m.name, l.identifier`
}

// SetGroupMember implements store.ACLStore.
func (s *Store) SetGroupMember(ctx context.Context, group, account string, on bool) ([]store.Change, error) {
	var ch []store.Change
	err := s.write(ctx, func(t *wtx) error {
		ch = nil
		q := `DELETE FROM groups WHERE grp = ? AND account = ?`
		if on {
			q = `INSERT OR IGNORE INTO groups (grp, account) VALUES (?, ?)`
		}
		n, err := t.execN(q, group, account)
		if err != nil || n == 0 {
			return err
		}
		rows, err := t.query(`SELECT DISTINCT m.id, m.account, m.name FROM acl l JOIN mailboxes m ON m.id = l.mailbox
			WHERE l.identifier IN (?, ?) ORDER BY m.id`, "$"+group, "-$"+group)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c := store.Change{Kind: store.ChangeACL}
			if err := rows.Scan(&c.MailboxID, &c.AccountID, &c.Name); err != nil {
				return err
			}
			ch = append(ch, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		t.emit(ch)
		return nil
	})
	return ch, err
}

// GroupMembers implements store.ACLStore.
func (s *Store) GroupMembers(ctx context.Context) ([]store.GroupMember, error) {
	var out []store.GroupMember
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT grp, account FROM groups ORDER BY grp, account`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g store.GroupMember
			if err := rows.Scan(&g.Group, &g.Account); err != nil {
				return err
			}
			out = append(out, g)
		}
		return rows.Err()
	})
	return out, err
}

// AccountGroups implements store.ACLStore.
func (s *Store) AccountGroups(ctx context.Context, account string) ([]string, error) {
	var out []string
	err := s.read(ctx, func(r *reader) error {
		out = out[:0]
		rows, err := r.query(`SELECT grp FROM groups WHERE account = ? ORDER BY grp`, account)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g string
			if err := rows.Scan(&g); err != nil {
				return err
			}
			out = append(out, g)
		}
		return rows.Err()
	})
	return out, err
}

// aclState remembers, for one ownChain generation, whether the acl table
// was empty.
type aclState struct {
	mu     sync.Mutex
	gen    uint64
	empty  bool
	checks atomic.Int64 // reads of the acl table by aclNone
}

// aclNone reports that the acl table has no row, so that no mailbox is
// shared with anyone. SharedWith runs on every LIST, and on a server
// where nobody shares a mailbox its query found nothing at a cost of
// 2-3 % of the server's CPU under imaptest (docs/benchmarks.md,
// "Session 11"). The answer is read once per ownChain generation:
// while every commit since that read was this store's writer's and
// none of them was SetACL (which ends the generation), it still holds.
// false means "do not know" as well as "not empty".
func (s *Store) aclNone(ctx context.Context) bool {
	gen, ok := s.chain.current(s.wal.stamp())
	if !ok {
		return false
	}
	a := &s.acl
	a.mu.Lock()
	if a.gen == gen {
		empty := a.empty
		a.mu.Unlock()
		return empty
	}
	a.mu.Unlock()
	a.checks.Add(1)
	var any int
	if err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT EXISTS (SELECT 1 FROM acl)`).Scan(&any)
	}); err != nil {
		return false
	}
	a.mu.Lock()
	a.gen, a.empty = gen, any == 0
	a.mu.Unlock()
	return any == 0
}
