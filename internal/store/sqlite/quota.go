package sqlite

import (
	"context"
	"fmt"

	"barid/internal/store"
)

// Quota accounting (RFC 9208). The quotas table (schema step 11) holds
// each account's usage, kept by triggers on the mailbox counters, and
// its per-account limits; the [quota] defaults live in the Store
// (SetQuotaDefaults). Writers that add messages call checkQuota after
// their counters changed, in the same (single-writer) transaction.

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

type quotaScanner interface{ Scan(...any) error }

func (s *Store) scanQuota(accountID int64, r quotaScanner) (*store.Quota, error) {
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

const quotaSelect = `SELECT storage, messages, limit_storage, limit_messages FROM quotas WHERE account = ?`

// Quota returns the account's usage and limits.
func (s *Store) Quota(ctx context.Context, accountID int64) (*store.Quota, error) {
	var q *store.Quota
	err := s.read(ctx, func(r *reader) error {
		var err error
		q, err = s.scanQuota(accountID, r.queryRow(quotaSelect, accountID))
		return err
	})
	return q, err
}

// checkQuota refuses the transaction's writes when they left the
// account over one of its limits (RFC 9208 §4.1.1: the operation that
// would exceed a limit fails). Call it after the mailbox counters of an
// operation that grows the account changed: the usage read here
// includes them.
func (s *Store) checkQuota(t *wtx, accountID int64) error {
	if s.quotaOff.Load() {
		return nil
	}
	q, err := s.scanQuota(accountID, t.queryRow(quotaSelect, accountID))
	if err != nil {
		return err
	}
	return q.Limits.Check(q.Usage)
}

// SetQuotaLimits sets the per-account override of each resource.
func (s *Store) SetQuotaLimits(ctx context.Context, accountID int64, o store.QuotaLimits) error {
	if o.Storage < store.QuotaKeep || o.Messages < store.QuotaKeep {
		return fmt.Errorf("sqlite: invalid quota limits %+v", o)
	}
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(`UPDATE quotas SET
			limit_storage = CASE WHEN ?1 = -2 THEN limit_storage ELSE ?1 END,
			limit_messages = CASE WHEN ?2 = -2 THEN limit_messages ELSE ?2 END
			WHERE account = ?3`, o.Storage, o.Messages, accountID)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNoAccount
		}
		// accounts.quota mirrors the storage override (store.Account.QuotaBytes).
		_, err = t.exec(`UPDATE accounts SET quota = (SELECT max(limit_storage, 0) FROM quotas WHERE account = ?1) WHERE id = ?1`, accountID)
		return err
	})
}

// SetQuota sets the account's storage limit in bytes (0 = unlimited);
// SetQuotaLimits sets both resources.
func (s *Store) SetQuota(ctx context.Context, accountID int64, quotaBytes int64) error {
	if quotaBytes < 0 {
		return fmt.Errorf("sqlite: negative quota %d", quotaBytes)
	}
	return s.SetQuotaLimits(ctx, accountID, store.QuotaLimits{Storage: quotaBytes, Messages: store.QuotaKeep})
}

// RecalcQuota recounts the account from its message rows: each
// mailbox's messages and size counters, then the quotas row.
func (s *Store) RecalcQuota(ctx context.Context, accountID int64) (before, after store.QuotaUsage, err error) {
	err = s.write(ctx, func(t *wtx) error {
		q, err := s.scanQuota(accountID, t.queryRow(quotaSelect, accountID))
		if err != nil {
			return err
		}
		before = q.Usage
		if _, err := t.exec(`UPDATE mailboxes SET
			messages = (SELECT count(*) FROM msgflags f WHERE f.mailbox = mailboxes.id),
			size = (SELECT coalesce(sum(f.size), 0) FROM msgflags f WHERE f.mailbox = mailboxes.id)
			WHERE account = ?`, accountID); err != nil {
			return err
		}
		if err := t.queryRow(`SELECT coalesce(sum(size), 0), coalesce(sum(messages), 0) FROM mailboxes WHERE account = ?`,
			accountID).Scan(&after.Storage, &after.Messages); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE quotas SET storage = ?, messages = ? WHERE account = ?`, after.Storage, after.Messages, accountID)
		return err
	})
	return before, after, err
}
