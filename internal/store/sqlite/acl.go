package sqlite

import (
	"context"
	"strings"

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

// SharedWith implements store.ACLStore.
func (s *Store) SharedWith(ctx context.Context, accountID int64, identifiers []string) ([]store.SharedMailbox, error) {
	if len(identifiers) == 0 {
		return nil, nil
	}
	args := []any{accountID}
	for _, id := range identifiers {
		args = append(args, id)
	}
	q := `SELECT m.id, m.account, m.name, m.uidvalidity, m.uidnext, m.highestmodseq, m.firstrecent, m.special_use, a.name
		FROM mailboxes m JOIN accounts a ON a.id = m.account
		WHERE m.account <> ? AND m.id IN (SELECT mailbox FROM acl WHERE identifier IN (?` + strings.Repeat(", ?", len(identifiers)-1) + `))
		ORDER BY a.name, m.name`
	var out []store.SharedMailbox
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sm store.SharedMailbox
			mb := &sm.Mailbox
			if err := rows.Scan(&mb.ID, &mb.AccountID, &mb.Name, &mb.UIDValidity, &mb.UIDNext, &mb.HighestModSeq, &mb.FirstRecent, &mb.SpecialUse, &sm.Owner); err != nil {
				return err
			}
			out = append(out, sm)
		}
		return rows.Err()
	})
	return out, err
}

// SetGroupMember implements store.ACLStore.
func (s *Store) SetGroupMember(ctx context.Context, group, account string, on bool) error {
	return s.write(ctx, func(t *wtx) error {
		if on {
			_, err := t.exec(`INSERT OR IGNORE INTO groups (grp, account) VALUES (?, ?)`, group, account)
			return err
		}
		_, err := t.exec(`DELETE FROM groups WHERE grp = ? AND account = ?`, group, account)
		return err
	})
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
