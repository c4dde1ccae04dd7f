package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"barid/internal/store"
)

var (
	_ store.SieveScripts  = (*Store)(nil)
	_ store.MultiAppender = (*Store)(nil)
)

// SieveScripts implements store.SieveScripts.
func (s *Store) SieveScripts(ctx context.Context, accountID int64) ([]store.SieveScript, error) {
	var out []store.SieveScript
	err := s.read(ctx, func(r *reader) error {
		out = nil
		rows, err := r.query(`SELECT name, script, active, updated FROM sieve_scripts WHERE account = ? ORDER BY name`, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sc, err := scanScript(rows)
			if err != nil {
				return err
			}
			out = append(out, *sc)
		}
		return rows.Err()
	})
	return out, err
}

type scanner interface{ Scan(...any) error }

func scanScript(r scanner) (*store.SieveScript, error) {
	var sc store.SieveScript
	var active int
	var updated int64
	if err := r.Scan(&sc.Name, &sc.Script, &active, &updated); err != nil {
		return nil, err
	}
	sc.Active = active != 0
	sc.Updated = time.UnixMilli(updated)
	if sc.Script == nil {
		sc.Script = []byte{}
	}
	return &sc, nil
}

// SieveScript implements store.SieveScripts.
func (s *Store) SieveScript(ctx context.Context, accountID int64, name string) (*store.SieveScript, error) {
	return s.oneScript(ctx, `SELECT name, script, active, updated FROM sieve_scripts WHERE account = ? AND name = ?`, accountID, name)
}

// ActiveSieveScript implements store.SieveScripts.
func (s *Store) ActiveSieveScript(ctx context.Context, accountID int64) (*store.SieveScript, error) {
	sc, err := s.oneScript(ctx, `SELECT name, script, active, updated FROM sieve_scripts WHERE account = ? AND active = 1`, accountID)
	if err == store.ErrNoScript {
		return nil, nil
	}
	return sc, err
}

// activeDigestQuery is what every delivery asks (Filter.Active). It is
// answered from the covering index sieve_scripts_active_digest (schema
// step 29), without the row: digest comes after the script in the row,
// and a script of more than about 4 KB puts it in overflow pages that
// the lookup otherwise reads each time.
const activeDigestQuery = `SELECT name, digest FROM sieve_scripts WHERE account = ? AND active = 1`

// ActiveSieveScriptDigest implements store.SieveScripts. The answer,
// "no active script" too, is kept while nothing changed the
// sieve_scripts table (dircache.go).
func (s *Store) ActiveSieveScriptDigest(ctx context.Context, accountID int64) (string, []byte, error) {
	gen, kept := s.dirGen()
	if kept {
		if name, digest, ok := s.dir.activeScript(gen, accountID); ok {
			return name, digest, nil
		}
	}
	name, digest, err := s.readActiveDigest(ctx, accountID)
	if err == nil && kept {
		s.dir.putScript(gen, accountID, name, digest)
	}
	return name, digest, err
}

func (s *Store) readActiveDigest(ctx context.Context, accountID int64) (string, []byte, error) {
	var name string
	var digest []byte
	err := s.read(ctx, func(r *reader) error {
		err := r.queryRow(activeDigestQuery, accountID).Scan(&name, &digest)
		if errNoRows(err) {
			name, digest = "", nil
			return nil
		}
		return err
	})
	return name, digest, err
}

func (s *Store) oneScript(ctx context.Context, q string, args ...any) (*store.SieveScript, error) {
	var sc *store.SieveScript
	err := s.read(ctx, func(r *reader) error {
		var err error
		sc, err = scanScript(r.queryRow(q, args...))
		if errNoRows(err) {
			return store.ErrNoScript
		}
		return err
	})
	return sc, err
}

// PutSieveScript implements store.SieveScripts.
func (s *Store) PutSieveScript(ctx context.Context, accountID int64, name string, script []byte, maxScripts int) error {
	if script == nil {
		script = []byte{}
	}
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(`UPDATE sieve_scripts SET script = ?, updated = ?, digest = ? WHERE account = ? AND name = ?`,
			script, s.now().UnixMilli(), store.ScriptDigest(script), accountID, name)
		if err != nil || n > 0 {
			return err
		}
		if maxScripts > 0 {
			var count int
			if err := t.queryRow(`SELECT count(*) FROM sieve_scripts WHERE account = ?`, accountID).Scan(&count); err != nil {
				return err
			}
			if count >= maxScripts {
				return store.ErrTooManyScripts
			}
		}
		var ok int
		if err := t.queryRow(`SELECT count(*) FROM accounts WHERE id = ?`, accountID).Scan(&ok); err != nil {
			return err
		}
		if ok == 0 {
			return store.ErrNoAccount
		}
		_, err = t.exec(`INSERT INTO sieve_scripts (account, name, script, active, updated, digest) VALUES (?, ?, ?, 0, ?, ?)`,
			accountID, name, script, s.now().UnixMilli(), store.ScriptDigest(script))
		return err
	})
}

// DeleteSieveScript implements store.SieveScripts.
func (s *Store) DeleteSieveScript(ctx context.Context, accountID int64, name string) error {
	return s.write(ctx, func(t *wtx) error {
		var active int
		err := t.queryRow(`SELECT active FROM sieve_scripts WHERE account = ? AND name = ?`, accountID, name).Scan(&active)
		if errNoRows(err) {
			return store.ErrNoScript
		}
		if err != nil {
			return err
		}
		if active != 0 {
			return store.ErrScriptActive
		}
		_, err = t.exec(`DELETE FROM sieve_scripts WHERE account = ? AND name = ?`, accountID, name)
		return err
	})
}

// RenameSieveScript implements store.SieveScripts.
func (s *Store) RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error {
	return s.write(ctx, func(t *wtx) error {
		var n int
		if err := t.queryRow(`SELECT count(*) FROM sieve_scripts WHERE account = ? AND name = ?`, accountID, oldName).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNoScript
		}
		if oldName == newName {
			return store.ErrScriptExists
		}
		if err := t.queryRow(`SELECT count(*) FROM sieve_scripts WHERE account = ? AND name = ?`, accountID, newName).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrScriptExists
		}
		_, err := t.exec(`UPDATE sieve_scripts SET name = ?, updated = ? WHERE account = ? AND name = ?`,
			newName, s.now().UnixMilli(), accountID, oldName)
		return err
	})
}

// SetActiveSieveScript implements store.SieveScripts.
func (s *Store) SetActiveSieveScript(ctx context.Context, accountID int64, name string) error {
	return s.write(ctx, func(t *wtx) error {
		if name != "" {
			var n int
			if err := t.queryRow(`SELECT count(*) FROM sieve_scripts WHERE account = ? AND name = ?`, accountID, name).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return store.ErrNoScript
			}
		}
		if _, err := t.exec(`UPDATE sieve_scripts SET active = 0 WHERE account = ? AND active = 1`, accountID); err != nil {
			return err
		}
		if name == "" {
			return nil
		}
		_, err := t.exec(`UPDATE sieve_scripts SET active = 1 WHERE account = ? AND name = ?`, accountID, name)
		return err
	})
}

// MarkVacation implements store.SieveScripts. The writer serializes it,
// so the read and the upsert are atomic.
func (s *Store) MarkVacation(ctx context.Context, accountID int64, key string, now, until time.Time) (bool, error) {
	var answered bool
	err := s.write(ctx, func(t *wtx) error {
		answered = false
		if _, err := t.exec(`DELETE FROM sieve_vacation WHERE account = ? AND expires <= ?`, accountID, now.UnixMilli()); err != nil {
			return err
		}
		var exp int64
		err := t.queryRow(`SELECT expires FROM sieve_vacation WHERE account = ? AND key = ?`, accountID, key).Scan(&exp)
		if err == nil {
			answered = true
			return nil
		}
		if !errNoRows(err) {
			return err
		}
		_, err = t.exec(`INSERT INTO sieve_vacation (account, key, expires) VALUES (?, ?, ?)`, accountID, key, until.UnixMilli())
		return err
	})
	return answered, err
}

// VacationMarked implements store.SieveScripts.
func (s *Store) VacationMarked(ctx context.Context, accountID int64, key string, now time.Time) (bool, error) {
	var n int
	err := s.read(ctx, func(r *reader) error {
		return r.queryRow(`SELECT count(*) FROM sieve_vacation WHERE account = ? AND key = ? AND expires > ?`,
			accountID, key, now.UnixMilli()).Scan(&n)
	})
	return n > 0, err
}

// QueueOutgoing implements store.SieveScripts.
func (s *Store) QueueOutgoing(ctx context.Context, m *store.OutgoingMail) (int64, error) {
	var id int64
	created := m.Created
	if created.IsZero() {
		created = s.now()
	}
	err := s.write(ctx, func(t *wtx) error {
		res, err := t.exec(`INSERT INTO sieve_outgoing (account, kind, sender, rcpts, data, attempts, next_try, created, last_error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.AccountID, m.Kind, m.From, strings.Join(m.To, "\n"), m.Data,
			m.Attempts, m.NextTry.UnixMilli(), created.UnixMilli(), m.LastError)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// DueOutgoing implements store.SieveScripts.
func (s *Store) DueOutgoing(ctx context.Context, now time.Time, limit int) ([]store.OutgoingMail, error) {
	var out []store.OutgoingMail
	err := s.read(ctx, func(r *reader) error {
		out = nil
		rows, err := r.query(`SELECT `+outgoingCols+`
			FROM sieve_outgoing WHERE next_try <= ? AND lease_until <= ? ORDER BY next_try, id LIMIT ?`,
			now.UnixMilli(), now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		out, err = scanOutgoingRows(rows)
		return err
	})
	return out, err
}

// ClaimOutgoing implements store.SieveScripts: one writer transaction
// (SQLite serialises writers) selects the due, unleased rows and
// leases them.
func (s *Store) ClaimOutgoing(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutgoingMail, error) {
	var out []store.OutgoingMail
	err := s.write(ctx, func(t *wtx) error {
		out = nil
		rows, err := t.query(`SELECT `+outgoingCols+`
			FROM sieve_outgoing WHERE next_try <= ? AND lease_until <= ? ORDER BY next_try, id LIMIT ?`,
			now.UnixMilli(), now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		if out, err = scanOutgoingRows(rows); err != nil {
			return err
		}
		until := now.Add(lease)
		for i := range out {
			if _, err := t.exec(`UPDATE sieve_outgoing SET lease_owner = ?, lease_until = ? WHERE id = ?`,
				owner, until.UnixMilli(), out[i].ID); err != nil {
				return err
			}
			out[i].LeaseOwner, out[i].LeaseUntil = owner, time.UnixMilli(until.UnixMilli())
		}
		return nil
	})
	return out, err
}

const outgoingCols = `id, account, kind, sender, rcpts, data, attempts, next_try, created, last_error, lease_owner, lease_until`

func scanOutgoingRows(rows *sql.Rows) ([]store.OutgoingMail, error) {
	defer rows.Close()
	var out []store.OutgoingMail
	for rows.Next() {
		var m store.OutgoingMail
		var rcpts string
		var next, created, lease int64
		if err := rows.Scan(&m.ID, &m.AccountID, &m.Kind, &m.From, &rcpts, &m.Data, &m.Attempts, &next, &created,
			&m.LastError, &m.LeaseOwner, &lease); err != nil {
			return nil, err
		}
		if rcpts != "" {
			m.To = strings.Split(rcpts, "\n")
		}
		m.NextTry, m.Created = time.UnixMilli(next), time.UnixMilli(created)
		if lease != 0 {
			m.LeaseUntil = time.UnixMilli(lease)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RetryOutgoing implements store.SieveScripts.
func (s *Store) RetryOutgoing(ctx context.Context, id int64, next time.Time, lastErr string) error {
	return s.write(ctx, func(t *wtx) error {
		_, err := t.exec(`UPDATE sieve_outgoing SET attempts = attempts + 1, next_try = ?, last_error = ?,
			lease_owner = '', lease_until = 0 WHERE id = ?`,
			next.UnixMilli(), lastErr, id)
		return err
	})
}

// DeleteOutgoing implements store.SieveScripts.
func (s *Store) DeleteOutgoing(ctx context.Context, id int64) error {
	return s.write(ctx, func(t *wtx) error {
		_, err := t.exec(`DELETE FROM sieve_outgoing WHERE id = ?`, id)
		return err
	})
}

// AppendMulti implements store.MultiAppender: one writer transaction;
// each mailbox's messages are appended together (one modseq per
// mailbox), in the order the mailboxes first appear.
func (s *Store) AppendMulti(ctx context.Context, msgs []store.MailboxMessage) ([]store.UID, []store.Change, error) {
	var uids []store.UID
	var ch []store.Change
	err := s.write(ctx, func(t *wtx) error {
		uids, ch = make([]store.UID, len(msgs)), nil
		if len(msgs) == 1 {
			// one copy (a script that files or flags, then stops):
			// AppendMessages' work, without the grouping
			mb, err := loadMbox(t, msgs[0].MailboxID)
			if err != nil {
				return err
			}
			u, c, err := s.appendRows(t, mb, []store.NewMessage{msgs[0].Message})
			if err != nil {
				return err
			}
			uids[0], ch = u[0], c
			t.emit(ch)
			return nil
		}
		var order []int64
		groups := map[int64][]int{}
		for i, m := range msgs {
			if _, ok := groups[m.MailboxID]; !ok {
				order = append(order, m.MailboxID)
			}
			groups[m.MailboxID] = append(groups[m.MailboxID], i)
		}
		for _, id := range order {
			mb, err := loadMbox(t, id)
			if err != nil {
				return err
			}
			nm := make([]store.NewMessage, len(groups[id]))
			for k, i := range groups[id] {
				nm[k] = msgs[i].Message
			}
			u, c, err := s.appendRows(t, mb, nm)
			if err != nil {
				return err
			}
			for k, i := range groups[id] {
				uids[i] = u[k]
			}
			ch = append(ch, c...)
		}
		t.emit(ch)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return uids, ch, nil
}
