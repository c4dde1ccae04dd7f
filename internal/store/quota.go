package store

import (
	"context"
	"fmt"
)

// QuotaLimits are the two RFC 9208 resources barid accounts for
// (§5.1 STORAGE, in bytes here, and §5.2 MESSAGE). 0 means unlimited.
type QuotaLimits struct {
	Storage  int64
	Messages int64
}

// QuotaUsage is what an account uses: the sum of RFC822.SIZE of its
// messages (RFC 9208 §5.1: "the physical space estimate"; barid counts
// each copy, as Dovecot's count backend does) and their number.
type QuotaUsage struct {
	Storage  int64
	Messages int64
}

// Values of a per-account override (QuotaLimits in Quota.Override and
// SetQuotaLimits).
const (
	// QuotaInherit means "use the [quota] default".
	QuotaInherit int64 = -1
	// QuotaKeep, only in SetQuotaLimits, leaves a resource as it is.
	QuotaKeep int64 = -2
)

// Quota is one account's quota root (barid has one root per account,
// named "" as Dovecot names its user root "User quota"; see
// internal/imap/server/quota.go).
type Quota struct {
	AccountID int64
	Usage     QuotaUsage
	// Limits are the effective limits: the override where set, else the
	// defaults. 0 = unlimited.
	Limits QuotaLimits
	// Override is the per-account setting: QuotaInherit, 0 or a limit.
	Override QuotaLimits
}

// Effective resolves an override against the defaults.
func (o QuotaLimits) Effective(def QuotaLimits) QuotaLimits {
	out := o
	if out.Storage < 0 {
		out.Storage = def.Storage
	}
	if out.Messages < 0 {
		out.Messages = def.Messages
	}
	return out
}

// Check returns ErrOverQuota, naming the resource and its limit, when u
// exceeds l (RFC 9208 §4.1.1: the operation that would exceed a limit
// fails).
func (l QuotaLimits) Check(u QuotaUsage) error {
	if l.Storage > 0 && u.Storage > l.Storage {
		return fmt.Errorf("%w: STORAGE limit %d bytes would be exceeded (%d)", ErrOverQuota, l.Storage, u.Storage)
	}
	if l.Messages > 0 && u.Messages > l.Messages {
		return fmt.Errorf("%w: MESSAGE limit %d would be exceeded (%d)", ErrOverQuota, l.Messages, u.Messages)
	}
	return nil
}

// Quotas is implemented by both backends. Usage is kept incrementally
// in the transaction of every write that changes a mailbox's message
// count or size (append, copy, move, expunge, replace, delete of a
// mailbox or an account), and checked there against the limits, so
// concurrent writers never overshoot together. Usage is charged to the
// account that owns the mailbox, whoever writes.
type Quotas interface {
	// SetQuotaDefaults sets the limits of accounts without an override
	// ([quota] storage and messages in the config).
	SetQuotaDefaults(QuotaLimits)
	// SetQuotaEnforced turns limits on (the default) or off ([quota]
	// enforce). Off, no write is refused for quota and Quota reports no
	// limits (Override keeps the stored ones); usage is kept all the
	// same, so turning limits on again needs no recount.
	SetQuotaEnforced(on bool)
	// Quota returns the account's usage and limits.
	Quota(ctx context.Context, accountID int64) (*Quota, error)
	// SetQuotaLimits sets the per-account override of each resource:
	// QuotaInherit, 0 (unlimited), a limit, or QuotaKeep.
	SetQuotaLimits(ctx context.Context, accountID int64, o QuotaLimits) error
	// RecalcQuota recounts the account's usage (and its mailboxes'
	// counters) from the message rows, stores it, and returns the usage
	// it had before and the recount: a difference is drift.
	RecalcQuota(ctx context.Context, accountID int64) (before, after QuotaUsage, err error)
}
