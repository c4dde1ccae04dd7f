package sqlite

import (
	"context"
	"strings"

	"barid/internal/store"
)

// keywordCache canonicalizes keyword spellings within one write request.
// Each mailbox keeps the first spelling it saw of every keyword
// (RFC 9051 §2.3.2: keywords compare case-insensitively), so "$junk"
// stored after "$Junk" becomes "$Junk" and the mailbox's FLAGS list never
// holds two spellings of one keyword.
type keywordCache map[int64]map[string]string

// canonicalIn is canonical (registering) for a mailbox whose row the
// transaction read (m): a spelling the mailbox is known to have
// committed (store.KnownKeywords) needs no SELECT; one read or registered here
// becomes known once the transaction commits.
func (c keywordCache) canonicalIn(t *wtx, m *mboxState, f store.Flags) (store.Flags, error) {
	return c.canonicalKnown(t, m.id, &store.KeywordBox{ID: m.id, UIDValidity: m.uidvalidity}, f, true)
}

// canonicalKnown returns f with each keyword in the mailbox's spelling;
// with register, keywords new to the mailbox are recorded as spelled in
// f. box (nil: none) names the mailbox for store.KnownKeywords.
func (c keywordCache) canonicalKnown(t *wtx, mailboxID int64, box *store.KeywordBox, f store.Flags, register bool) (store.Flags, error) {
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
			name, ok = t.knownKeyword(*box, l)
		}
		if !ok {
			err := t.queryRow(`SELECT name FROM keywords WHERE mailbox = ? AND lname = ?`, mailboxID, l).Scan(&name)
			switch {
			case err == nil:
			case errNoRows(err) && register:
				name = k
				if _, err := t.exec(`INSERT INTO keywords (mailbox, lname, name) VALUES (?, ?, ?)`, mailboxID, l, k); err != nil {
					return f, err
				}
				t.w.kwDefined = true // selKeywords: after the COMMIT
			case errNoRows(err):
				name = k
			default:
				return f, err
			}
			if box != nil && register {
				t.learnKeyword(*box, l, name)
			}
		}
		m[l] = name
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
// FLAGS and PERMANENTFLAGS at SELECT (RFC 9051 §7.3.5), announced before
// any FETCH carries one of them. The list only grows while the mailbox
// lives (a keyword no message carries any more stays defined).
func (s *Store) Keywords(ctx context.Context, mailboxID int64) ([]string, error) {
	var out []string
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT name FROM keywords WHERE mailbox = ? ORDER BY lname`, mailboxID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}
