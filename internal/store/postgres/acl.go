package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

var _ store.ACLStore = (*Store)(nil)

// ACL implements store.ACLStore.
func (s *Store) ACL(ctx context.Context, mailboxID int64) ([]store.ACLEntry, error) {
	rows, err := s.query(ctx, `SELECT identifier, rights FROM acl WHERE mailbox = $1 ORDER BY identifier COLLATE "C"`, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ACLEntry
	for rows.Next() {
		var e store.ACLEntry
		if err := rows.Scan(&e.Identifier, &e.Rights); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetACL implements store.ACLStore.
// The change is sent to the other nodes (store.ChangeACL, hint.go) in
// the same transaction; the caller publishes it on this node's bus.
func (s *Store) SetACL(ctx context.Context, mailboxID int64, identifier, rights string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		var account int64
		var name string
		err := tx.QueryRow(ctx, `SELECT account, name FROM mailboxes WHERE id = $1`, mailboxID).Scan(&account, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoMailbox
		}
		if err != nil {
			return err
		}
		v, err := nextACLVersion(ctx, tx)
		if err != nil {
			return err
		}
		if rights == "" {
			_, err = tx.Exec(ctx, `DELETE FROM acl WHERE mailbox = $1 AND identifier = $2`, mailboxID, identifier)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO acl (mailbox, identifier, rights) VALUES ($1, $2, $3)
			ON CONFLICT (mailbox, identifier) DO UPDATE SET rights = excluded.rights`, mailboxID, identifier, rights)
		}
		if pgCode(err) == codeForeignKeyViolation {
			return store.ErrNoMailbox
		}
		if err != nil {
			return err
		}
		if err := stampACL(ctx, tx, v, []int64{mailboxID}); err != nil {
			return err
		}
		return s.notifyTx(ctx, tx, []store.Change{{Kind: store.ChangeACL, AccountID: account, MailboxID: mailboxID, Name: name}})
	})
}

// nextACLVersion takes the next ACL version (listen.go's catch-up of
// ACL changes): meta's 'aclversion' row stays locked until the
// transaction ends, so ACL writes commit in version order and a reader
// that sees version v has seen every change up to v. Taken first, so
// that every ACL write locks in the same order.
func nextACLVersion(ctx context.Context, tx pgx.Tx) (int64, error) {
	var v int64
	err := tx.QueryRow(ctx, `INSERT INTO meta (key, value) VALUES ('aclversion', 1)
		ON CONFLICT (key) DO UPDATE SET value = meta.value + 1 RETURNING value`).Scan(&v)
	return v, err
}

// stampACL records that the ACL of mailboxes changed at version v.
func stampACL(ctx context.Context, tx pgx.Tx, v int64, mailboxes []int64) error {
	if len(mailboxes) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO acl_changes (mailbox, version) SELECT unnest($1::bigint[]), $2
		ON CONFLICT (mailbox) DO UPDATE SET version = excluded.version`, mailboxes, v)
	return err
}

// SharedWith implements store.ACLStore: one query reads the entries
// that apply (the identifiers', the account's stored groups', and their
// negative forms, through the acl_identifier index) with their
// mailboxes and owners.
func (s *Store) SharedWith(ctx context.Context, accountID int64, account string, identifiers []string) ([]store.SharedMailbox, error) {
	rows, err := s.query(ctx, sharedWithSQL, accountID, sharedIDs(identifiers), account)
	if err != nil {
		return nil, err
	}
	return scanShared(rows)
}

// MailboxesShared implements store.ListReader: Mailboxes and SharedWith
// sent together (a pipelined batch: one round trip, two statements).
func (s *Store) MailboxesShared(ctx context.Context, accountID int64, account string, identifiers []string) ([]store.Mailbox, []store.SharedMailbox, error) {
	if s.isClosed() {
		return nil, nil, ErrClosed
	}
	b := &pgx.Batch{}
	b.Queue(mailboxesSQL, accountID)
	b.Queue(sharedWithSQL, accountID, sharedIDs(identifiers), account)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	own, err := scanMailboxes(rows)
	if err != nil {
		return nil, nil, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, nil, err
	}
	shared, err := scanShared(rows)
	if err != nil {
		return nil, nil, err
	}
	return own, shared, br.Close()
}

const sharedWithSQL = `SELECT ` + mailboxCols + `, a.name, l.identifier, l.rights
		FROM acl l JOIN mailboxes m ON m.id = l.mailbox JOIN accounts a ON a.id = m.account
		WHERE l.identifier = ANY($2::text[] || ARRAY(SELECT p.s || '$' || g.grp
				FROM groups g CROSS JOIN (VALUES (''), ('-')) AS p(s) WHERE g.account = $3))
			AND m.account <> $1
		ORDER BY a.name COLLATE "C", m.name COLLATE "C", l.identifier COLLATE "C"`

// sharedIDs is each identifier and its negative form.
func sharedIDs(identifiers []string) []string {
	ids := make([]string, 0, 2*len(identifiers))
	for _, id := range identifiers {
		ids = append(ids, id, "-"+id)
	}
	return ids
}

func scanShared(rows pgx.Rows) ([]store.SharedMailbox, error) {
	defer rows.Close()
	var out []store.SharedMailbox
	var cur store.SharedMailbox
	for rows.Next() {
		var owner string
		var e store.ACLEntry
		mb, err := scanMailbox(rows, &owner, &e.Identifier, &e.Rights)
		if err != nil {
			return nil, err
		}
		if mb.ID != cur.Mailbox.ID {
			out = store.AppendShared(out, cur)
			mb.Subscribed = false // the owner's subscription, not the caller's
			cur = store.SharedMailbox{Mailbox: *mb, Owner: owner}
		}
		cur.ACL = append(cur.ACL, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return store.AppendShared(out, cur), nil
}

// SetGroupMember implements store.ACLStore. The changes go to the
// other nodes in the same transaction, as SetACL's.
func (s *Store) SetGroupMember(ctx context.Context, group, account string, on bool) ([]store.Change, error) {
	var ch []store.Change
	err := s.write(ctx, func(tx pgx.Tx) error {
		ch = nil
		v, err := nextACLVersion(ctx, tx)
		if err != nil {
			return err
		}
		q := `DELETE FROM groups WHERE grp = $1 AND account = $2`
		if on {
			q = `INSERT INTO groups (grp, account) VALUES ($1, $2) ON CONFLICT DO NOTHING`
		}
		tag, err := tx.Exec(ctx, q, group, account)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT m.id, m.account, m.name FROM acl l JOIN mailboxes m ON m.id = l.mailbox
			WHERE l.identifier = ANY($1) ORDER BY m.id`, []string{"$" + group, "-$" + group})
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			c := store.Change{Kind: store.ChangeACL}
			if err := rows.Scan(&c.MailboxID, &c.AccountID, &c.Name); err != nil {
				rows.Close()
				return err
			}
			ch = append(ch, c)
			ids = append(ids, c.MailboxID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := stampACL(ctx, tx, v, ids); err != nil {
			return err
		}
		return s.notifyTx(ctx, tx, ch)
	})
	return ch, err
}

// GroupMembers implements store.ACLStore.
func (s *Store) GroupMembers(ctx context.Context) ([]store.GroupMember, error) {
	rows, err := s.query(ctx, `SELECT grp, account FROM groups ORDER BY grp COLLATE "C", account COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.GroupMember
	for rows.Next() {
		var g store.GroupMember
		if err := rows.Scan(&g.Group, &g.Account); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// AccountGroups implements store.ACLStore.
func (s *Store) AccountGroups(ctx context.Context, account string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT grp FROM groups WHERE account = $1 ORDER BY grp COLLATE "C"`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
