package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

const mailboxCols = `m.id, m.account, m.name, m.uidvalidity, m.uidnext, m.highestmodseq, m.firstrecent, m.special_use,
	EXISTS (SELECT 1 FROM subscriptions s WHERE s.account = m.account AND s.name = m.name)`

func scanMailbox(sc pgx.Row, extra ...any) (*store.Mailbox, error) {
	var m store.Mailbox
	var uv, next, hms, first int64
	dst := append([]any{&m.ID, &m.AccountID, &m.Name, &uv, &next, &hms, &first, &m.SpecialUse, &m.Subscribed}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	m.UIDValidity, m.UIDNext, m.HighestModSeq, m.FirstRecent = uint32(uv), store.UID(next), store.ModSeq(hms), store.UID(first)
	return &m, nil
}

// nextUIDValidity returns a UIDVALIDITY larger than any given before in
// this database: max(unix time, last+1), in one statement under the row
// lock of meta's 'uidvalidity' row, so nodes whose clocks differ still
// never hand out the same value. A mailbox deleted and created again
// under the same name therefore never repeats one (RFC 9051 §2.3.1.1:
// the pair (name, UIDVALIDITY) MUST NOT refer to an earlier mailbox's
// UIDs).
func (s *Store) nextUIDValidity(ctx context.Context, tx pgx.Tx) (uint32, error) {
	var v int64
	err := tx.QueryRow(ctx, `INSERT INTO meta (key, value) VALUES ('uidvalidity', $1)
		ON CONFLICT (key) DO UPDATE SET value = greatest(excluded.value, meta.value + 1)
		RETURNING value`, s.now().Unix()).Scan(&v)
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, errors.New("postgres: UIDVALIDITY space exhausted (limit 2^32-1)")
	}
	return uint32(v), nil
}

func (s *Store) createMailbox(ctx context.Context, tx pgx.Tx, accountID int64, name, specialUse string) (*store.Mailbox, error) {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account = $1 AND name = $2)`,
		accountID, name).Scan(&exists); err != nil {
		return nil, err
	}
	if exists {
		return nil, store.ErrMailboxExists
	}
	uv, err := s.nextUIDValidity(ctx, tx)
	if err != nil {
		return nil, err
	}
	var id int64
	// ON CONFLICT: another node created the name since the check above.
	err = tx.QueryRow(ctx, `INSERT INTO mailboxes (account, name, uidvalidity, uidnext, highestmodseq, firstrecent, special_use)
		VALUES ($1, $2, $3, 1, 1, 1, $4) ON CONFLICT (account, name) DO NOTHING RETURNING id`,
		accountID, name, int64(uv), specialUse).Scan(&id)
	if errNoRows(err) {
		return nil, store.ErrMailboxExists
	}
	if err != nil {
		return nil, err
	}
	var sub bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscriptions WHERE account = $1 AND name = $2)`,
		accountID, name).Scan(&sub); err != nil {
		return nil, err
	}
	return &store.Mailbox{ID: id, AccountID: accountID, Name: name, UIDValidity: uv, UIDNext: 1,
		HighestModSeq: 1, FirstRecent: 1, SpecialUse: specialUse, Subscribed: sub}, nil
}

// lockAccount takes the account row's share lock: the account cannot be
// deleted before this transaction ends, and it exists.
func lockAccount(ctx context.Context, tx pgx.Tx, accountID int64) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE`, accountID).Scan(&one)
	if errNoRows(err) {
		return store.ErrNoAccount
	}
	return err
}

// CreateMailbox creates one mailbox (RFC 9051 §6.3.4); missing parents are
// the caller's business. The new mailbox gets a fresh UIDVALIDITY, UIDNEXT 1
// and HIGHESTMODSEQ 1.
func (s *Store) CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (*store.Mailbox, []store.Change, error) {
	name = normalizeName(name)
	if name == "" {
		return nil, nil, errors.New("postgres: empty mailbox name")
	}
	var mb *store.Mailbox
	var ch []store.Change
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		ch = nil
		if err := lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		var err error
		if mb, err = s.createMailbox(ctx, tx, accountID, name, specialUse); err != nil {
			return err
		}
		ch = []store.Change{{Kind: store.ChangeMailboxCreated, AccountID: accountID, MailboxID: mb.ID,
			Name: mb.Name, UIDValidity: mb.UIDValidity}}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return mb, ch, nil
}

// Mailbox looks a mailbox up by name.
func (s *Store) Mailbox(ctx context.Context, accountID int64, name string) (*store.Mailbox, error) {
	mb, err := scanMailbox(s.queryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes m WHERE m.account = $1 AND m.name = $2`,
		accountID, normalizeName(name)))
	if errNoRows(err) {
		return nil, store.ErrNoMailbox
	}
	return mb, err
}

// MailboxByID looks a mailbox up by id.
func (s *Store) MailboxByID(ctx context.Context, id int64) (*store.Mailbox, error) {
	mb, err := scanMailbox(s.queryRow(ctx, `SELECT `+mailboxCols+` FROM mailboxes m WHERE m.id = $1`, id))
	if errNoRows(err) {
		return nil, store.ErrNoMailbox
	}
	return mb, err
}

// Mailboxes lists the account's mailboxes ordered by name (byte order).
func (s *Store) Mailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	rows, err := s.query(ctx, mailboxesSQL, accountID)
	if err != nil {
		return nil, err
	}
	return scanMailboxes(rows)
}

const mailboxesSQL = `SELECT ` + mailboxCols + ` FROM mailboxes m WHERE m.account = $1 ORDER BY m.name`

func scanMailboxes(rows pgx.Rows) ([]store.Mailbox, error) {
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		mb, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *mb)
	}
	return out, rows.Err()
}

// DeleteMailbox deletes one mailbox with its messages and tombstones
// (RFC 9051 §6.3.5); the rows go by ON DELETE CASCADE. Deleting the row
// takes its lock, so it waits for a writer of the mailbox on another
// node, and that writer's next attempt finds no mailbox. Inferior names
// are left alone. INBOX cannot be deleted (ErrCannot). Subscriptions are
// kept (RFC 9051 §6.3.7 allows subscribing to names that do not exist).
func (s *Store) DeleteMailbox(ctx context.Context, accountID int64, name string) ([]store.Change, error) {
	name = normalizeName(name)
	if name == "INBOX" {
		return nil, store.ErrCannot
	}
	var ch []store.Change
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		ch = nil
		var id, uv int64
		err := tx.QueryRow(ctx, `SELECT id, uidvalidity FROM mailboxes WHERE account = $1 AND name = $2 FOR UPDATE`,
			accountID, name).Scan(&id, &uv)
		if errNoRows(err) {
			return store.ErrNoMailbox
		}
		if err != nil {
			return err
		}
		inline, err := inlineCandidates(ctx, tx, `SELECT DISTINCT m.blob_id FROM messages m JOIN blobdata b ON b.id = m.blob_id
			WHERE m.mailbox = $1`, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM mailboxes WHERE id = $1`, id); err != nil {
			return err
		}
		if err := dropInline(ctx, tx, inline); err != nil {
			return err
		}
		ch = []store.Change{{Kind: store.ChangeMailboxDeleted, AccountID: accountID, MailboxID: id, Name: name, UIDValidity: uint32(uv)}}
		return nil
	})
	return ch, err
}

// RenameMailbox renames a mailbox and all its inferiors ("a/b" moves
// with "a"), RFC 9051 §6.3.6. Each keeps its id, messages and UIDVALIDITY.
// Renaming INBOX is refused with ErrCannot (the server implements it as a
// move of INBOX's messages). Renaming onto an existing name, for the
// mailbox or any inferior, is ErrMailboxExists.
func (s *Store) RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) ([]store.Change, error) {
	oldName, newName = normalizeName(oldName), normalizeName(newName)
	if oldName == "INBOX" {
		return nil, store.ErrCannot
	}
	if newName == "" {
		return nil, errors.New("postgres: empty mailbox name")
	}
	if newName == oldName {
		return nil, store.ErrMailboxExists
	}
	var ch []store.Change
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		ch = nil
		type mbox struct {
			id   int64
			name string
			uv   int64
		}
		var set []mbox
		rows, err := tx.Query(ctx, `SELECT id, name, uidvalidity FROM mailboxes
			WHERE account = $1 AND (name = $2 OR (name >= $3 AND name < $4)) ORDER BY id FOR UPDATE`,
			accountID, oldName, oldName+"/", oldName+"0") // '0' follows '/' in byte order
		if err != nil {
			return err
		}
		for rows.Next() {
			var m mbox
			if err := rows.Scan(&m.id, &m.name, &m.uv); err != nil {
				rows.Close()
				return err
			}
			set = append(set, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		found := false
		inSet := make(map[string]bool, len(set))
		for _, m := range set {
			inSet[m.name] = true
			found = found || m.name == oldName
		}
		if !found {
			return store.ErrNoMailbox
		}
		for _, m := range set {
			target := newName + strings.TrimPrefix(m.name, oldName)
			if inSet[target] {
				continue // vacated by this same rename
			}
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account = $1 AND name = $2)`,
				accountID, target).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return fmt.Errorf("%w: %s", store.ErrMailboxExists, target)
			}
		}
		// Two passes so the UNIQUE (account, name) constraint never sees
		// a transient clash ("a" -> "a/b" while "a/b" -> "a/b/b").
		for _, m := range set {
			if _, err := tx.Exec(ctx, `UPDATE mailboxes SET name = $1 WHERE id = $2`, fmt.Sprintf("\x01rename\x01%d", m.id), m.id); err != nil {
				return err
			}
		}
		for _, m := range set {
			target := newName + strings.TrimPrefix(m.name, oldName)
			if _, err := tx.Exec(ctx, `UPDATE mailboxes SET name = $1 WHERE id = $2`, target, m.id); err != nil {
				if isUnique(err) { // created on another node meanwhile
					return fmt.Errorf("%w: %s", store.ErrMailboxExists, target)
				}
				return err
			}
			ch = append(ch, store.Change{Kind: store.ChangeMailboxRenamed, AccountID: accountID, MailboxID: m.id,
				Name: target, OldName: m.name, UIDValidity: uint32(m.uv)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Parents before inferiors, as store/sqlite reports them.
	sortChangesByOldName(ch)
	return ch, nil
}

func sortChangesByOldName(ch []store.Change) {
	for i := 1; i < len(ch); i++ {
		for j := i; j > 0 && ch[j].OldName < ch[j-1].OldName; j-- {
			ch[j], ch[j-1] = ch[j-1], ch[j]
		}
	}
}

// SetSubscribed adds or removes a subscription (RFC 9051 §6.3.7, §6.3.8).
// The name need not exist. A change is returned only if the state changed.
func (s *Store) SetSubscribed(ctx context.Context, accountID int64, name string, on bool) ([]store.Change, error) {
	name = normalizeName(name)
	if name == "" {
		return nil, errors.New("postgres: empty mailbox name")
	}
	var ch []store.Change
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		ch = nil
		if err := lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		kind := store.ChangeSubscribed
		q := `INSERT INTO subscriptions (account, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`
		if !on {
			kind = store.ChangeUnsubscribed
			q = `DELETE FROM subscriptions WHERE account = $1 AND name = $2`
		}
		tag, err := tx.Exec(ctx, q, accountID, name)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		var id int64
		err = tx.QueryRow(ctx, `SELECT id FROM mailboxes WHERE account = $1 AND name = $2`, accountID, name).Scan(&id)
		if err != nil && !errNoRows(err) {
			return err
		}
		ch = []store.Change{{Kind: kind, AccountID: accountID, MailboxID: id, Name: name}}
		return nil
	})
	return ch, err
}

// Subscriptions lists subscribed names, sorted.
func (s *Store) Subscriptions(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := s.query(ctx, `SELECT name FROM subscriptions WHERE account = $1 ORDER BY name`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// MailboxStatus returns the STATUS counters (RFC 9051 §6.3.11) in one
// statement: MESSAGES, UNSEEN, DELETED and SIZE are kept in the mailbox
// row by every write; RECENT counts uid >= firstrecent.
func (s *Store) MailboxStatus(ctx context.Context, mailboxID int64) (*store.Status, error) {
	var st store.Status
	var msgs, unseen, deleted, recent int64
	mb, err := scanMailbox(s.queryRow(ctx, `SELECT `+mailboxCols+`, m.messages, m.unseen, m.deleted, m.size,
		(SELECT count(*) FROM msgflags f WHERE f.mailbox = m.id AND f.uid >= m.firstrecent)
		FROM mailboxes m WHERE m.id = $1`, mailboxID), &msgs, &unseen, &deleted, &st.Size, &recent)
	if errNoRows(err) {
		return nil, store.ErrNoMailbox
	}
	if err != nil {
		return nil, err
	}
	st.Mailbox = *mb
	st.Messages, st.Unseen, st.Deleted, st.Recent = uint32(msgs), uint32(unseen), uint32(deleted), uint32(recent)
	return &st, nil
}
