package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"barid/internal/store"
)

const mailboxCols = `m.id, m.account, m.name, m.uidvalidity, m.uidnext, m.highestmodseq, m.firstrecent, m.special_use,
	EXISTS (SELECT 1 FROM subscriptions s WHERE s.account = m.account AND s.name = m.name)`

func scanMailbox(sc interface{ Scan(...any) error }) (*store.Mailbox, error) {
	var m store.Mailbox
	if err := sc.Scan(mailboxDests(&m)...); err != nil {
		return nil, err
	}
	return &m, nil
}

// mailboxDests is where Scan puts mailboxCols, in their order; a query
// that selects more columns after them appends its own.
func mailboxDests(m *store.Mailbox, more ...any) []any {
	return append([]any{&m.ID, &m.AccountID, &m.Name, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq,
		&m.FirstRecent, &m.SpecialUse, &m.Subscribed}, more...)
}

// nextUIDValidity returns a UIDVALIDITY larger than any given before in
// this database: max(unix time, last+1). A mailbox deleted and created
// again under the same name therefore never repeats one
// (RFC 9051 §2.3.1.1: the pair (name, UIDVALIDITY) MUST NOT refer to an
// earlier mailbox's UIDs).
func (s *Store) nextUIDValidity(t *wtx) (uint32, error) {
	var last int64
	err := t.queryRow(`SELECT value FROM meta WHERE key = 'uidvalidity'`).Scan(&last)
	if err != nil && !errNoRows(err) {
		return 0, err
	}
	v := max(s.now().Unix(), last+1)
	if v > math.MaxUint32 {
		return 0, errors.New("sqlite: UIDVALIDITY space exhausted (limit 2^32-1)")
	}
	if _, err := t.exec(`INSERT INTO meta (key, value) VALUES ('uidvalidity', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, v); err != nil {
		return 0, err
	}
	return uint32(v), nil
}

func (s *Store) createMailbox(t *wtx, accountID int64, name, specialUse string) (*store.Mailbox, error) {
	var exists int
	err := t.queryRow(`SELECT 1 FROM mailboxes WHERE account = ? AND name = ?`, accountID, name).Scan(&exists)
	if err == nil {
		return nil, store.ErrMailboxExists
	}
	if !errNoRows(err) {
		return nil, err
	}
	uv, err := s.nextUIDValidity(t)
	if err != nil {
		return nil, err
	}
	res, err := t.exec(`INSERT INTO mailboxes (account, name, uidvalidity, uidnext, highestmodseq, firstrecent, special_use)
		VALUES (?, ?, ?, 1, 1, 1, ?)`, accountID, name, uv, specialUse)
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	var sub bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM subscriptions WHERE account = ? AND name = ?)`, accountID, name).Scan(&sub); err != nil {
		return nil, err
	}
	return &store.Mailbox{ID: id, AccountID: accountID, Name: name, UIDValidity: uv, UIDNext: 1,
		HighestModSeq: 1, FirstRecent: 1, SpecialUse: specialUse, Subscribed: sub}, nil
}

func accountExists(t *wtx, accountID int64) error {
	var one int
	err := t.queryRow(`SELECT 1 FROM accounts WHERE id = ?`, accountID).Scan(&one)
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
		return nil, nil, errors.New("sqlite: empty mailbox name")
	}
	var mb *store.Mailbox
	var ch []store.Change
	err := s.write(ctx, func(t *wtx) error {
		if err := accountExists(t, accountID); err != nil {
			return err
		}
		var err error
		mb, err = s.createMailbox(t, accountID, name, specialUse)
		if err != nil {
			return err
		}
		ch = []store.Change{{Kind: store.ChangeMailboxCreated, AccountID: accountID, MailboxID: mb.ID,
			Name: mb.Name, UIDValidity: mb.UIDValidity}}
		t.emit(ch)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return mb, ch, nil
}

// Mailbox looks a mailbox up by name.
//
// While every commit since was this store's writer's, the row comes
// from the rows the writer keeps (mboxrows.go); otherwise a row read
// since the last commit of any connection (walstamp.go) is answered
// from memory (mboxCache): SELECT, STATUS and APPEND look their mailbox
// up by name first, and that read was all the SQLite a SELECT of a
// large mailbox still did.
func (s *Store) Mailbox(ctx context.Context, accountID int64, name string) (*store.Mailbox, error) {
	name = normalizeName(name)
	st := s.wal.stamp()
	gen, chained := s.chain.current(st)
	var epoch uint64
	if chained {
		var mb *store.Mailbox
		var hit bool
		if mb, epoch, hit = s.boxes.getByName(gen, accountID, name); hit {
			return mb, s.settle(ctx, mb.ID)
		}
	}
	mb, ok := s.mboxes.get(accountID, name, st)
	if !ok {
		err := s.read(ctx, func(r *reader) error {
			var err error
			mb, err = scanMailbox(r.queryRow(`SELECT `+mailboxCols+` FROM mailboxes m WHERE m.account = ? AND m.name = ?`,
				accountID, name))
			return err
		})
		if errNoRows(err) {
			return nil, store.ErrNoMailbox
		}
		if err != nil {
			return nil, err
		}
		s.mboxes.put(accountID, name, st, mb)
	}
	if chained {
		s.boxes.put(gen, epoch, accountID, []store.Mailbox{*mb}, false)
	}
	return mb, s.settle(ctx, mb.ID)
}

// MailboxByID looks a mailbox up by id.
func (s *Store) MailboxByID(ctx context.Context, id int64) (*store.Mailbox, error) {
	gen, chained := s.chain.current(s.wal.stamp())
	var epoch uint64
	if chained {
		var mb *store.Mailbox
		var hit bool
		if mb, epoch, hit = s.boxes.getByID(gen, id); hit {
			return mb, s.settle(ctx, id)
		}
	}
	var mb *store.Mailbox
	err := s.read(ctx, func(r *reader) error {
		var err error
		mb, err = scanMailbox(r.queryRow(`SELECT `+mailboxCols+` FROM mailboxes m WHERE m.id = ?`, id))
		return err
	})
	if errNoRows(err) {
		return nil, store.ErrNoMailbox
	}
	if err == nil {
		if chained {
			s.boxes.put(gen, epoch, mb.AccountID, []store.Mailbox{*mb}, false)
		}
		err = s.settle(ctx, id)
	}
	return mb, err
}

// Mailboxes lists the account's mailboxes ordered by name.
//
// While every commit since was this store's writer's, the list comes
// from the rows the writer keeps (mboxrows.go) once it was read whole.
func (s *Store) Mailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	gen, chained := s.chain.current(s.wal.stamp())
	var epoch uint64
	if chained {
		var out []store.Mailbox
		var hit bool
		if out, epoch, hit = s.boxes.list(gen, accountID); hit {
			return out, s.settleAccount(ctx, accountID)
		}
	}
	var out []store.Mailbox
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT `+mailboxCols+` FROM mailboxes m WHERE m.account = ? ORDER BY m.name`, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			mb, err := scanMailbox(rows)
			if err != nil {
				return err
			}
			out = append(out, *mb)
		}
		return rows.Err()
	})
	if err == nil {
		if chained {
			s.boxes.put(gen, epoch, accountID, out, true)
		}
		err = s.settleAccount(ctx, accountID)
	}
	return out, err
}

// DeleteMailbox deletes one mailbox with its messages and tombstones
// (RFC 9051 §6.3.5). Inferior names are left alone: whether the deleted
// name lives on as \Noselect is the server's decision. INBOX cannot be
// deleted (ErrCannot). Subscriptions are kept (RFC 9051 §6.3.7 allows
// subscribing to names that do not exist).
func (s *Store) DeleteMailbox(ctx context.Context, accountID int64, name string) ([]store.Change, error) {
	name = normalizeName(name)
	if name == "INBOX" {
		return nil, store.ErrCannot
	}
	var ch []store.Change
	err := s.write(ctx, func(t *wtx) error {
		var id int64
		var uv uint32
		err := t.queryRow(`SELECT id, uidvalidity FROM mailboxes WHERE account = ? AND name = ?`, accountID, name).Scan(&id, &uv)
		if errNoRows(err) {
			return store.ErrNoMailbox
		}
		if err != nil {
			return err
		}
		if err := dropInlineMailbox(t, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM messages WHERE mailbox = ?`,
			`DELETE FROM msgflags WHERE mailbox = ?`,
			`DELETE FROM expunged WHERE mailbox = ?`,
			`DELETE FROM keywords WHERE mailbox = ?`,
			`DELETE FROM mailboxes WHERE id = ?`,
		} {
			if _, err := t.exec(q, id); err != nil {
				return err
			}
		}
		ch = []store.Change{{Kind: store.ChangeMailboxDeleted, AccountID: accountID, MailboxID: id, Name: name, UIDValidity: uv}}
		t.emit(ch)
		t.forgetKeywords()
		return nil
	})
	return ch, err
}

// RenameMailbox renames a mailbox and all its inferiors ("a/b" moves
// with "a"), RFC 9051 §6.3.6. Each keeps its id, messages and UIDVALIDITY:
// it is the same mailbox under a new name, and a mailbox later created
// under the old name gets a fresh UIDVALIDITY, so no (name, UIDVALIDITY,
// UID) triple is ever reused. Renaming INBOX is refused with ErrCannot
// (the server implements it as a move of INBOX's messages). Renaming onto
// an existing name, for the mailbox or any inferior, is ErrMailboxExists.
func (s *Store) RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) ([]store.Change, error) {
	oldName, newName = normalizeName(oldName), normalizeName(newName)
	if oldName == "INBOX" {
		return nil, store.ErrCannot
	}
	if newName == "" {
		return nil, errors.New("sqlite: empty mailbox name")
	}
	if newName == oldName {
		return nil, store.ErrMailboxExists
	}
	var ch []store.Change
	err := s.write(ctx, func(t *wtx) error {
		type mbox struct {
			id   int64
			name string
			uv   uint32
		}
		var set []mbox
		rows, err := t.query(`SELECT id, name, uidvalidity FROM mailboxes
			WHERE account = ? AND (name = ? OR (name >= ? AND name < ?)) ORDER BY name`,
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
		if len(set) == 0 || set[0].name != oldName {
			return store.ErrNoMailbox
		}
		inSet := make(map[string]bool, len(set))
		for _, m := range set {
			inSet[m.name] = true
		}
		for _, m := range set {
			target := newName + strings.TrimPrefix(m.name, oldName)
			if inSet[target] {
				continue // vacated by this same rename
			}
			var one int
			err := t.queryRow(`SELECT 1 FROM mailboxes WHERE account = ? AND name = ?`, accountID, target).Scan(&one)
			if err == nil {
				return fmt.Errorf("%w: %s", store.ErrMailboxExists, target)
			}
			if !errNoRows(err) {
				return err
			}
		}
		// Two passes so the UNIQUE (account, name) constraint never sees
		// a transient clash ("a" -> "a/b" while "a/b" -> "a/b/b").
		for _, m := range set {
			if _, err := t.exec(`UPDATE mailboxes SET name = ? WHERE id = ?`, fmt.Sprintf("\x00rename\x00%d", m.id), m.id); err != nil {
				return err
			}
		}
		ch = ch[:0]
		for _, m := range set {
			target := newName + strings.TrimPrefix(m.name, oldName)
			if _, err := t.exec(`UPDATE mailboxes SET name = ? WHERE id = ?`, target, m.id); err != nil {
				return err
			}
			ch = append(ch, store.Change{Kind: store.ChangeMailboxRenamed, AccountID: accountID, MailboxID: m.id,
				Name: target, OldName: m.name, UIDValidity: m.uv})
		}
		t.emit(ch)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// SetSubscribed adds or removes a subscription (RFC 9051 §6.3.7, §6.3.8).
// The name need not exist. A change is returned only if the state changed.
func (s *Store) SetSubscribed(ctx context.Context, accountID int64, name string, on bool) ([]store.Change, error) {
	name = normalizeName(name)
	if name == "" {
		return nil, errors.New("sqlite: empty mailbox name")
	}
	var ch []store.Change
	err := s.writeLazy(ctx, func(t *wtx) error {
		ch = nil
		if err := accountExists(t, accountID); err != nil {
			return err
		}
		var n int64
		var err error
		kind := store.ChangeSubscribed
		if on {
			n, err = t.execN(`INSERT OR IGNORE INTO subscriptions (account, name) VALUES (?, ?)`, accountID, name)
		} else {
			kind = store.ChangeUnsubscribed
			n, err = t.execN(`DELETE FROM subscriptions WHERE account = ? AND name = ?`, accountID, name)
		}
		if err != nil || n == 0 {
			return err
		}
		var id int64
		err = t.queryRow(`SELECT id FROM mailboxes WHERE account = ? AND name = ?`, accountID, name).Scan(&id)
		if err != nil && !errNoRows(err) {
			return err
		}
		if id != 0 {
			// Subscribed is read from subscriptions, which the writer's
			// pre-update hook does not see (a WITHOUT ROWID table): the
			// row is read again before COMMIT (mboxrows.go).
			t.touchMailbox(id)
		}
		ch = []store.Change{{Kind: kind, AccountID: accountID, MailboxID: id, Name: name}}
		t.emit(ch)
		return nil
	})
	return ch, err
}

// Subscriptions lists subscribed names, sorted.
func (s *Store) Subscriptions(ctx context.Context, accountID int64) ([]string, error) {
	var out []string
	err := s.read(ctx, func(r *reader) error {
		rows, err := r.query(`SELECT name FROM subscriptions WHERE account = ? ORDER BY name`, accountID)
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

// MailboxStatus returns the STATUS counters (RFC 9051 §6.3.11). MESSAGES,
// UNSEEN, DELETED and SIZE are kept in the mailbox row by every write;
// RECENT counts the index range uid >= firstrecent.
//
// While every commit since was this store's writer's, the row and its
// counters come from the rows the writer keeps (mboxrows.go).
func (s *Store) MailboxStatus(ctx context.Context, mailboxID int64) (*store.Status, error) {
	gen, chained := s.chain.current(s.wal.stamp())
	var epoch uint64
	if chained {
		var cst *store.Status
		var hit bool
		if cst, epoch, hit = s.boxes.getStatus(gen, mailboxID); hit {
			if err := s.settle(ctx, mailboxID); err != nil {
				return nil, err
			}
			return cst, nil
		}
	}
	var st store.Status
	// One statement is one snapshot: no BEGIN and COMMIT around it, and
	// one statement instead of three (STATUS is every other command of
	// imaptest's mix; docs/benchmarks.md, "Session 11").
	err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT `+mailboxCols+`, m.messages, m.unseen, m.deleted, m.size,
			(SELECT count(*) FROM msgflags f WHERE f.mailbox = m.id AND f.uid >= m.firstrecent)
			FROM mailboxes m WHERE m.id = ?`, mailboxID).
			Scan(mailboxDests(&st.Mailbox, &st.Messages, &st.Unseen, &st.Deleted, &st.Size, &st.Recent)...)
	})
	if errNoRows(err) {
		return nil, store.ErrNoMailbox
	}
	if err == nil {
		if chained {
			s.boxes.putStatus(gen, epoch, &st)
		}
		err = s.settle(ctx, mailboxID)
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}
