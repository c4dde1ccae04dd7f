package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// keywordCache canonicalizes keyword spellings within one transaction.
// Each mailbox keeps the first spelling it saw of every keyword
// (RFC 9051 §2.3.2: keywords compare case-insensitively), so "$junk"
// stored after "$Junk" becomes "$Junk" and the mailbox's FLAGS list never
// holds two spellings of one keyword. Callers hold the mailbox's row
// lock, so no other node registers a spelling meanwhile.
//
// A keyword the transaction inserts (new to the mailbox) is also marked
// under the empty name, which no keyword has (an atom is never empty):
// a STORE that defines a keyword without changing a message (every
// message it names is gone) still raises the mailbox's HIGHESTMODSEQ,
// so that a node's cache of the mailbox's keywords, valid for one
// HIGHESTMODSEQ (selectcache.go), sees that it is behind.
type keywordCache map[int64]map[string]string

// definedNew reports whether the transaction inserted a keyword for the
// mailbox.
func (c keywordCache) definedNew(mailboxID int64) bool { return c[mailboxID][""] != "" }

// canonicalIn is canonical (registering) for a mailbox whose row lock
// the transaction holds (m): a spelling the mailbox is known to have
// committed (store.KnownKeywords) needs no statement; one read or registered
// here becomes known once the transaction commits.
func (c keywordCache) canonicalIn(ctx context.Context, s *Store, tx pgx.Tx, m *mboxState, f store.Flags) (store.Flags, error) {
	return c.canonicalKnown(ctx, s, tx, m.id, &store.KeywordBox{ID: m.id, UIDValidity: m.uidvalidity}, f, true)
}

// canonicalKnown returns f with each keyword in the mailbox's spelling;
// with register, keywords new to the mailbox are recorded as spelled in
// f. box (nil: none) names the mailbox for store.KnownKeywords.
func (c keywordCache) canonicalKnown(ctx context.Context, s *Store, tx pgx.Tx, mailboxID int64, box *store.KeywordBox, f store.Flags, register bool) (store.Flags, error) {
	if len(f.Keywords) == 0 {
		return f, nil
	}
	m := c[mailboxID]
	if m == nil {
		m = map[string]string{}
		c[mailboxID] = m
	}
	names := make([]string, 0, len(f.Keywords))
	changed := false
	for _, k := range f.Keywords {
		l := strings.ToLower(k)
		name, ok := m[l]
		if !ok && box != nil {
			name, ok = s.kwKnown.Get(*box, l)
			if ok {
				m[l] = name
			}
		}
		if !ok {
			var err error
			if register {
				// Inserts the spelling unless one exists, and returns
				// whichever is stored.
				var inserted bool
				err = tx.QueryRow(ctx, `WITH ins AS (
					INSERT INTO keywords (mailbox, lname, name) VALUES ($1, $2, $3)
					ON CONFLICT (mailbox, lname) DO NOTHING RETURNING name)
				SELECT name, true FROM ins UNION ALL
				SELECT name, false FROM keywords WHERE mailbox = $1 AND lname = $2 LIMIT 1`, mailboxID, l, k).Scan(&name, &inserted)
				if inserted {
					m[""] = "new"
				}
			} else {
				err = tx.QueryRow(ctx, `SELECT name FROM keywords WHERE mailbox = $1 AND lname = $2`, mailboxID, l).Scan(&name)
				if errNoRows(err) {
					name, err = k, nil
				}
			}
			if err != nil {
				return f, err
			}
			if box != nil && register {
				s.learnKeyword(tx, *box, l, name)
			}
			m[l] = name
		}
		if name != k {
			changed = true
		}
		names = append(names, name)
	}
	if !changed {
		return f, nil
	}
	out := store.FlagsFromNames(names)
	out.System = f.System
	return out, nil
}

// Keywords returns every keyword ever set in the mailbox, in the
// mailbox's spelling, sorted case-insensitively: what the server lists in
// FLAGS and PERMANENTFLAGS at SELECT (RFC 9051 §7.3.5). The list only
// grows while the mailbox lives.
func (s *Store) Keywords(ctx context.Context, mailboxID int64) ([]string, error) {
	rows, err := s.query(ctx, `SELECT name FROM keywords WHERE mailbox = $1 ORDER BY lname COLLATE "C"`, mailboxID)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if len(out) == 0 {
		out = nil
	}
	return out, err
}
