package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
)

// SieveScript is one of an account's named Sieve scripts (RFC 5804 §1.1:
// a user has many scripts, at most one of them active).
type SieveScript struct {
	Name    string
	Script  []byte
	Active  bool
	Updated time.Time
}

// ScriptDigest is the digest ActiveSieveScriptDigest reports for a
// script's content.
func ScriptDigest(script []byte) []byte {
	d := sha256.Sum256(script)
	return d[:]
}

// Sieve errors. internal/managesieve maps them to response codes
// (RFC 5804 §1.3: NONEXISTENT, ALREADYEXISTS, ACTIVE, QUOTA/MAXSCRIPTS).
var (
	ErrNoScript       = errors.New("no such script")
	ErrScriptExists   = errors.New("script already exists")
	ErrScriptActive   = errors.New("script is active")
	ErrTooManyScripts = errors.New("too many scripts (sieve.max_scripts)")
)

// SieveScripts is an optional capability: per-account Sieve scripts,
// the vacation memory and the outgoing spool of Sieve-generated mail.
// Both backends have it; internal/storetest proves them.
type SieveScripts interface {
	// SieveScripts lists the account's scripts ordered by name, with
	// their bytes.
	SieveScripts(ctx context.Context, accountID int64) ([]SieveScript, error)
	// SieveScript returns one script, or ErrNoScript.
	SieveScript(ctx context.Context, accountID int64, name string) (*SieveScript, error)
	// ActiveSieveScript returns the active script, or nil, nil.
	ActiveSieveScript(ctx context.Context, accountID int64) (*SieveScript, error)
	// ActiveSieveScriptDigest returns the active script's name and
	// the SHA-256 of its content (ScriptDigest) as PutSieveScript
	// recorded it, without the content: what a delivery reads to see
	// whether its compiled copy is current, on any node. name is ""
	// when none is active; digest is empty for a script stored before
	// digests were recorded (then read the script).
	ActiveSieveScriptDigest(ctx context.Context, accountID int64) (name string, digest []byte, err error)
	// PutSieveScript creates or replaces a script (an active script
	// stays active, RFC 5804 §2.6). Creating one more than maxScripts
	// (> 0) fails with ErrTooManyScripts, checked in the same
	// transaction so that concurrent uploads cannot pass it.
	PutSieveScript(ctx context.Context, accountID int64, name string, script []byte, maxScripts int) error
	// DeleteSieveScript removes a script: ErrNoScript, or
	// ErrScriptActive for the active one (RFC 5804 §2.10).
	DeleteSieveScript(ctx context.Context, accountID int64, name string) error
	// RenameSieveScript renames a script, keeping whether it is active
	// (RFC 5804 §2.11.1): ErrNoScript, ErrScriptExists.
	RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error
	// SetActiveSieveScript makes name the one active script; "" leaves
	// none active (RFC 5804 §2.8). ErrNoScript for an unknown name.
	SetActiveSieveScript(ctx context.Context, accountID int64, name string) error

	// MarkVacation is the vacation memory (RFC 5230 §4.2): if key (the
	// :handle and the sender) was answered with an expiry after now, it
	// reports true and changes nothing; otherwise it records the key
	// until until and reports false. Atomic, so two concurrent
	// deliveries send one reply. Expired keys are removed on the way.
	MarkVacation(ctx context.Context, accountID int64, key string, now, until time.Time) (answered bool, err error)
	// VacationMarked reports whether key is recorded with an expiry
	// after now, recording nothing (the RFC 7352 duplicate test, whose
	// ids are recorded with MarkVacation only once the delivery
	// succeeded).
	VacationMarked(ctx context.Context, accountID int64, key string, now time.Time) (bool, error)

	// QueueOutgoing stores a message to send (redirect, vacation,
	// reject) durably and returns its id.
	QueueOutgoing(ctx context.Context, m *OutgoingMail) (int64, error)
	// DueOutgoing returns up to limit queued messages whose NextTry is
	// not after now and that no lease holds past now, oldest first. It
	// claims nothing: senders use ClaimOutgoing.
	DueOutgoing(ctx context.Context, now time.Time, limit int) ([]OutgoingMail, error)
	// ClaimOutgoing leases up to limit due messages (NextTry not after
	// now, no lease or one that ended by now) to owner until now+lease,
	// oldest first, and returns them with LeaseOwner and LeaseUntil set.
	// Only the claimant sends: with several nodes on one store, two
	// concurrent claims never return the same message while its lease
	// runs, and the message of a node that died is claimed again once
	// its lease has ended.
	ClaimOutgoing(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutgoingMail, error)
	// RetryOutgoing records a failed attempt: Attempts+1, NextTry and
	// LastError, and releases the lease.
	RetryOutgoing(ctx context.Context, id int64, next time.Time, lastErr string) error
	// DeleteOutgoing removes a sent (or abandoned) message.
	DeleteOutgoing(ctx context.Context, id int64) error
}

// OutgoingMail is one queued message for the Sieve smarthost.
type OutgoingMail struct {
	ID        int64
	AccountID int64  // whose script made it (for logs); not a reference
	Kind      string // "redirect", "vacation", "reject", "notify"
	From      string // envelope sender ("" is the null sender <>)
	To        []string
	Data      []byte
	Attempts  int
	NextTry   time.Time
	Created   time.Time
	LastError string
	// LeaseOwner and LeaseUntil: the node whose outbox is sending the
	// message and until when (ClaimOutgoing); "" and zero when free.
	LeaseOwner string
	LeaseUntil time.Time
}

// MailboxMessage is one message for one mailbox of AppendMulti.
type MailboxMessage struct {
	MailboxID int64
	Message   NewMessage
}

// MultiAppender is an optional capability: messages appended to
// several mailboxes in one transaction, all or none (a Sieve script's
// fileinto actions and keep, each with its own flags).
type MultiAppender interface {
	// AppendMulti appends each message to its mailbox and returns the
	// UIDs in the order given. A mailbox may appear more than once.
	AppendMulti(ctx context.Context, msgs []MailboxMessage) ([]UID, []Change, error)
}
