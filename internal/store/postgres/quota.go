package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// Quota accounting (RFC 9208), as store/sqlite's quota.go: the quotas
// table (schema step 5) holds each account's usage, kept by triggers on
// the mailbox counters that bump updates, and its per-account limits.
// The trigger's UPDATE takes the quota row's lock after the mailbox row
// locks, so the writers of one account queue there; checkQuota, run
// after, reads the usage that includes every committed write and its
// own, and two writers can never both pass a limit.

var _ store.Quotas = (*Store)(nil)

// SetQuotaDefaults sets the limits of accounts without an override.
func (s *Store) SetQuotaDefaults(d store.QuotaLimits) { s.quotaDefaults.Store(&d) }

// SetQuotaEnforced implements store.Quotas.
func (s *Store) SetQuotaEnforced(on bool) { s.quotaOff.Store(!on) }

func (s *Store) defaults() store.QuotaLimits {
	if d := s.quotaDefaults.Load(); d != nil {
		return *d
	}
	return store.QuotaLimits{}
}

func (s *Store) scanQuota(accountID int64, r pgx.Row) (*store.Quota, error) {
	q := &store.Quota{AccountID: accountID}
	err := r.Scan(&q.Usage.Storage, &q.Usage.Messages, &q.Override.Storage, &q.Override.Messages)
	if errNoRows(err) {
		return nil, store.ErrNoAccount
	}
	if err != nil {
		return nil, err
	}
	if !s.quotaOff.Load() {
		q.Limits = q.Override.Effective(s.defaults())
	}
	return q, nil
}

const quotaSelect = `SELECT storage, messages, limit_storage, limit_messages FROM quotas WHERE account = $1`

// Quota returns the account's usage and limits.
func (s *Store) Quota(ctx context.Context, accountID int64) (*store.Quota, error) {
	return s.scanQuota(accountID, s.queryRow(ctx, quotaSelect, accountID))
}

// checkQuota refuses the transaction's writes when they left the
// account over one of its limits (RFC 9208 §4.1.1). Call it after bump
// charged the operation that grows the account.
func (s *Store) checkQuota(ctx context.Context, tx pgx.Tx, accountID int64) error {
	if s.quotaOff.Load() {
		return nil
	}
	q, err := s.scanQuota(accountID, tx.QueryRow(ctx, quotaSelect, accountID))
	if err != nil {
		return err
	}
	return q.Limits.Check(q.Usage)
}

// SetQuotaLimits sets the per-account override of each resource.
func (s *Store) SetQuotaLimits(ctx context.Context, accountID int64, o store.QuotaLimits) error {
	if o.Storage < store.QuotaKeep || o.Messages < store.QuotaKeep {
		return fmt.Errorf("postgres: invalid quota limits %+v", o)
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE quotas SET
			limit_storage = CASE WHEN $1::bigint = -2 THEN limit_storage ELSE $1 END,
			limit_messages = CASE WHEN $2::bigint = -2 THEN limit_messages ELSE $2 END
			WHERE account = $3`, o.Storage, o.Messages, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNoAccount
		}
		// accounts.quota mirrors the storage override (store.Account.QuotaBytes).
		_, err = tx.Exec(ctx, `UPDATE accounts SET quota = (SELECT greatest(limit_storage, 0) FROM quotas WHERE account = $1) WHERE id = $1`, accountID)
		return err
	})
}

// SetQuota sets the account's storage limit in bytes (0 = unlimited);
// SetQuotaLimits sets both resources.
func (s *Store) SetQuota(ctx context.Context, accountID int64, quotaBytes int64) error {
	if quotaBytes < 0 {
		return fmt.Errorf("postgres: negative quota %d", quotaBytes)
	}
	return s.SetQuotaLimits(ctx, accountID, store.QuotaLimits{Storage: quotaBytes, Messages: store.QuotaKeep})
}

// RecalcQuota recounts the account from its message rows: each
// mailbox's messages and size counters, then the quotas row. It locks
// the account's mailboxes in id order first (as writers do), then the
// quota row, so no writer changes them meanwhile.
func (s *Store) RecalcQuota(ctx context.Context, accountID int64) (before, after store.QuotaUsage, err error) {
	err = s.write(ctx, func(tx pgx.Tx) error {
		before, after = store.QuotaUsage{}, store.QuotaUsage{}
		if _, err := tx.Exec(ctx, `SELECT id FROM mailboxes WHERE account = $1 ORDER BY id FOR NO KEY UPDATE`, accountID); err != nil {
			return err
		}
		q, err := s.scanQuota(accountID, tx.QueryRow(ctx, quotaSelect+` FOR NO KEY UPDATE`, accountID))
		if err != nil {
			return err
		}
		before = q.Usage
		if _, err := tx.Exec(ctx, `UPDATE mailboxes m SET messages = c.n, size = c.s
			FROM (SELECT mb.id, count(f.uid) AS n, coalesce(sum(f.size), 0) AS s
				FROM mailboxes mb LEFT JOIN msgflags f ON f.mailbox = mb.id
				WHERE mb.account = $1 GROUP BY mb.id) c
			WHERE m.id = c.id AND (m.messages <> c.n OR m.size <> c.s)`, accountID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(size), 0)::bigint, coalesce(sum(messages), 0)::bigint FROM mailboxes WHERE account = $1`,
			accountID).Scan(&after.Storage, &after.Messages); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE quotas SET storage = $1, messages = $2 WHERE account = $3`, after.Storage, after.Messages, accountID)
		return err
	})
	return before, after, err
}
