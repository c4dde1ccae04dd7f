package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

var (
	_ store.SieveScripts  = (*Store)(nil)
	_ store.MultiAppender = (*Store)(nil)
)

const scriptCols = `name, script, active, updated`

func scanScript(r pgx.Row) (*store.SieveScript, error) {
	var sc store.SieveScript
	var updated int64
	if err := r.Scan(&sc.Name, &sc.Script, &sc.Active, &updated); err != nil {
		return nil, err
	}
	sc.Updated = time.UnixMilli(updated)
	if sc.Script == nil {
		sc.Script = []byte{}
	}
	return &sc, nil
}

// SieveScripts implements store.SieveScripts.
func (s *Store) SieveScripts(ctx context.Context, accountID int64) ([]store.SieveScript, error) {
	rows, err := s.query(ctx, `SELECT `+scriptCols+` FROM sieve_scripts WHERE account = $1 ORDER BY name`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SieveScript
	for rows.Next() {
		sc, err := scanScript(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *sc)
	}
	return out, rows.Err()
}

// SieveScript implements store.SieveScripts.
func (s *Store) SieveScript(ctx context.Context, accountID int64, name string) (*store.SieveScript, error) {
	sc, err := scanScript(s.queryRow(ctx, `SELECT `+scriptCols+` FROM sieve_scripts WHERE account = $1 AND name = $2`, accountID, name))
	if errNoRows(err) {
		return nil, store.ErrNoScript
	}
	return sc, err
}

// ActiveSieveScript implements store.SieveScripts.
func (s *Store) ActiveSieveScript(ctx context.Context, accountID int64) (*store.SieveScript, error) {
	sc, err := scanScript(s.queryRow(ctx, `SELECT `+scriptCols+` FROM sieve_scripts WHERE account = $1 AND active`, accountID))
	if errNoRows(err) {
		return nil, nil
	}
	return sc, err
}

// ActiveSieveScriptDigest implements store.SieveScripts.
func (s *Store) ActiveSieveScriptDigest(ctx context.Context, accountID int64) (string, []byte, error) {
	var name string
	var digest []byte
	err := s.queryRow(ctx, `SELECT name, digest FROM sieve_scripts WHERE account = $1 AND active`, accountID).Scan(&name, &digest)
	if errNoRows(err) {
		return "", nil, nil
	}
	return name, digest, err
}

// lockScripts takes the account row's lock, serializing the script
// changes of one account (the count check of PutSieveScript, the one
// active script), and reports ErrNoAccount.
func lockScripts(ctx context.Context, tx pgx.Tx, accountID int64) error {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, accountID).Scan(&id)
	if errNoRows(err) {
		return store.ErrNoAccount
	}
	return err
}

// PutSieveScript implements store.SieveScripts.
func (s *Store) PutSieveScript(ctx context.Context, accountID int64, name string, script []byte, maxScripts int) error {
	if script == nil {
		script = []byte{}
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockScripts(ctx, tx, accountID); err != nil {
			return err
		}
		now := s.now().UnixMilli()
		tag, err := tx.Exec(ctx, `UPDATE sieve_scripts SET script = $3, updated = $4, digest = $5 WHERE account = $1 AND name = $2`,
			accountID, name, script, now, store.ScriptDigest(script))
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		if maxScripts > 0 {
			var count int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM sieve_scripts WHERE account = $1`, accountID).Scan(&count); err != nil {
				return err
			}
			if count >= maxScripts {
				return store.ErrTooManyScripts
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO sieve_scripts (account, name, script, active, updated, digest) VALUES ($1, $2, $3, false, $4, $5)`,
			accountID, name, script, now, store.ScriptDigest(script))
		return err
	})
}

// DeleteSieveScript implements store.SieveScripts.
func (s *Store) DeleteSieveScript(ctx context.Context, accountID int64, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		var active bool
		err := tx.QueryRow(ctx, `SELECT active FROM sieve_scripts WHERE account = $1 AND name = $2 FOR UPDATE`, accountID, name).Scan(&active)
		if errNoRows(err) {
			return store.ErrNoScript
		}
		if err != nil {
			return err
		}
		if active {
			return store.ErrScriptActive
		}
		_, err = tx.Exec(ctx, `DELETE FROM sieve_scripts WHERE account = $1 AND name = $2`, accountID, name)
		return err
	})
}

// RenameSieveScript implements store.SieveScripts.
func (s *Store) RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockScripts(ctx, tx, accountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM sieve_scripts WHERE account = $1 AND name = $2`, accountID, oldName).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNoScript
		}
		if oldName == newName {
			return store.ErrScriptExists
		}
		_, err := tx.Exec(ctx, `UPDATE sieve_scripts SET name = $3, updated = $4 WHERE account = $1 AND name = $2`,
			accountID, oldName, newName, s.now().UnixMilli())
		if isUnique(err) {
			return store.ErrScriptExists
		}
		return err
	})
}

// SetActiveSieveScript implements store.SieveScripts.
func (s *Store) SetActiveSieveScript(ctx context.Context, accountID int64, name string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockScripts(ctx, tx, accountID); err != nil {
			return err
		}
		if name != "" {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM sieve_scripts WHERE account = $1 AND name = $2`, accountID, name).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return store.ErrNoScript
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE sieve_scripts SET active = false WHERE account = $1 AND active`, accountID); err != nil {
			return err
		}
		if name == "" {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE sieve_scripts SET active = true WHERE account = $1 AND name = $2`, accountID, name)
		return err
	})
}

// MarkVacation implements store.SieveScripts (the key is bytea: it may
// hold any byte a sender address has): one upsert that replaces
// only an expired row, so of two nodes delivering at once one inserts
// and the other sees the fresh row.
func (s *Store) MarkVacation(ctx context.Context, accountID int64, key string, now, until time.Time) (bool, error) {
	var answered bool
	err := s.write(ctx, func(tx pgx.Tx) error {
		answered = false
		if _, err := tx.Exec(ctx, `DELETE FROM sieve_vacation WHERE account = $1 AND expires <= $2 AND key <> $3`,
			accountID, now.UnixMilli(), []byte(key)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO sieve_vacation (account, key, expires) VALUES ($1, $2, $3)
			ON CONFLICT (account, key) DO UPDATE SET expires = excluded.expires WHERE sieve_vacation.expires <= $4`,
			accountID, []byte(key), until.UnixMilli(), now.UnixMilli())
		if pgCode(err) == codeForeignKeyViolation {
			return store.ErrNoAccount
		}
		if err != nil {
			return err
		}
		answered = tag.RowsAffected() == 0
		return nil
	})
	return answered, err
}

// VacationMarked implements store.SieveScripts.
func (s *Store) VacationMarked(ctx context.Context, accountID int64, key string, now time.Time) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM sieve_vacation WHERE account = $1 AND key = $2 AND expires > $3`,
		accountID, []byte(key), now.UnixMilli()).Scan(&n)
	return n > 0, err
}

// QueueOutgoing implements store.SieveScripts.
func (s *Store) QueueOutgoing(ctx context.Context, m *store.OutgoingMail) (int64, error) {
	created := m.Created
	if created.IsZero() {
		created = s.now()
	}
	var id int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO sieve_outgoing (account, kind, sender, rcpts, data, attempts, next_try, created, last_error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, m.AccountID, m.Kind, m.From, strings.Join(m.To, "\n"),
			m.Data, m.Attempts, m.NextTry.UnixMilli(), created.UnixMilli(), m.LastError).Scan(&id)
	})
	return id, err
}

// DueOutgoing implements store.SieveScripts.
func (s *Store) DueOutgoing(ctx context.Context, now time.Time, limit int) ([]store.OutgoingMail, error) {
	rows, err := s.query(ctx, `SELECT `+outgoingCols+`
		FROM sieve_outgoing WHERE next_try <= $1 AND lease_until <= $1 ORDER BY next_try, id LIMIT $2`, now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	return scanOutgoingRows(rows)
}

const outgoingCols = `id, account, kind, sender, rcpts, data, attempts, next_try, created, last_error, lease_owner, lease_until`

func scanOutgoingRows(rows pgx.Rows) ([]store.OutgoingMail, error) {
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

// ClaimOutgoing implements store.SieveScripts: the due rows are locked
// with FOR UPDATE SKIP LOCKED, so a concurrent claim on another node
// passes over them instead of waiting, and the UPDATE's own check of
// the lease (re-evaluated on the locked row) keeps a row that was
// claimed meanwhile from being claimed twice.
func (s *Store) ClaimOutgoing(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutgoingMail, error) {
	var out []store.OutgoingMail
	err := s.write(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH c AS (
			SELECT id FROM sieve_outgoing WHERE next_try <= $1 AND lease_until <= $1
			ORDER BY next_try, id LIMIT $2 FOR UPDATE SKIP LOCKED)
			UPDATE sieve_outgoing o SET lease_owner = $3, lease_until = $4 FROM c
			WHERE o.id = c.id AND o.lease_until <= $1
			RETURNING o.id, o.account, o.kind, o.sender, o.rcpts, o.data, o.attempts, o.next_try, o.created, o.last_error,
				o.lease_owner, o.lease_until`,
			now.UnixMilli(), limit, owner, now.Add(lease).UnixMilli())
		if err != nil {
			return err
		}
		out, err = scanOutgoingRows(rows)
		return err
	})
	slices.SortFunc(out, func(a, b store.OutgoingMail) int {
		if c := a.NextTry.Compare(b.NextTry); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, err
}

// RetryOutgoing implements store.SieveScripts.
func (s *Store) RetryOutgoing(ctx context.Context, id int64, next time.Time, lastErr string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE sieve_outgoing SET attempts = attempts + 1, next_try = $2, last_error = $3,
			lease_owner = '', lease_until = 0 WHERE id = $1`,
			id, next.UnixMilli(), lastErr)
		return err
	})
}

// DeleteOutgoing implements store.SieveScripts.
func (s *Store) DeleteOutgoing(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sieve_outgoing WHERE id = $1`, id)
		return err
	})
}

// AppendMulti implements store.MultiAppender: every mailbox's row lock
// (in id order), then each mailbox's messages appended together.
func (s *Store) AppendMulti(ctx context.Context, msgs []store.MailboxMessage) ([]store.UID, []store.Change, error) {
	all := make([]store.NewMessage, len(msgs))
	for i := range msgs {
		all[i] = msgs[i].Message
	}
	if err := checkInline(all); err != nil {
		return nil, nil, err
	}
	var uids []store.UID
	var ch []store.Change
	err := s.writeChanges(ctx, &ch, func(tx pgx.Tx) error {
		uids, ch = make([]store.UID, len(msgs)), nil
		if len(msgs) == 1 {
			// one copy (a script that files or flags, then stops):
			// AppendMessages' work, without the grouping
			mbs, err := lockMailboxes(ctx, tx, msgs[0].MailboxID)
			if err != nil {
				return err
			}
			u, c, err := s.appendRows(ctx, tx, mbs[msgs[0].MailboxID], all)
			if err != nil {
				return err
			}
			uids[0], ch = u[0], c
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
		mbs, err := lockMailboxes(ctx, tx, order...)
		if err != nil {
			return err
		}
		for _, id := range order {
			nm := make([]store.NewMessage, len(groups[id]))
			for k, i := range groups[id] {
				nm[k] = msgs[i].Message
			}
			u, c, err := s.appendRows(ctx, tx, mbs[id], nm)
			if err != nil {
				return err
			}
			for k, i := range groups[id] {
				uids[i] = u[k]
			}
			ch = append(ch, c...)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return uids, ch, nil
}
