// Package store is the metadata boundary of barid: accounts, mailboxes,
// message records, flags, modseqs and the changes every write produces.
//
// It knows nothing about IMAP sequence numbers, untagged responses or
// response codes; those live once, in internal/imap/server. Message bytes
// live in internal/blob; a message record names its blob by ID.
//
// Every write method returns the typed changes it made, each carrying the
// modseq it was given. The caller publishes them on the notify bus after
// the method returns (the transaction has committed by then).
package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// UID is an IMAP unique identifier (RFC 9051 §2.3.1.1). UIDs only grow
// within one UIDVALIDITY and are never reused.
type UID uint32

// ModSeq is a per-mailbox modification sequence (RFC 7162 §3.1).
// Every change to a mailbox gets a new, larger modseq.
type ModSeq uint64

// SysFlags is the bitset of IMAP system flags kept per message.
// \Recent is not stored here; it is a session property (RFC 3501 §2.3.2).
type SysFlags uint8

const (
	FlagSeen SysFlags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
)

// SysFlagNames lists the system flags in their canonical spelling,
// in bit order.
var SysFlagNames = [...]string{`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`}

// Flags is the full flag state of a message: system flags plus user
// keywords. Keywords are kept in the case in which they were first seen,
// compared case-insensitively (RFC 9051 §2.3.2), and sorted.
type Flags struct {
	System   SysFlags
	Keywords []string
}

// Names returns every flag as its IMAP name: system flags first, then
// keywords.
func (f Flags) Names() []string {
	out := make([]string, 0, 5+len(f.Keywords))
	for i, n := range SysFlagNames {
		if f.System&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return append(out, f.Keywords...)
}

// Has reports whether flag (system or keyword, case-insensitive) is set.
func (f Flags) Has(flag string) bool {
	if sf, ok := ParseSysFlag(flag); ok {
		return f.System&sf != 0
	}
	for _, k := range f.Keywords {
		if strings.EqualFold(k, flag) {
			return true
		}
	}
	return false
}

// Equal reports whether two flag states are the same.
func (f Flags) Equal(g Flags) bool {
	if f.System != g.System || len(f.Keywords) != len(g.Keywords) {
		return false
	}
	for i := range f.Keywords {
		if !strings.EqualFold(f.Keywords[i], g.Keywords[i]) {
			return false
		}
	}
	return true
}

// ParseSysFlag maps a system flag name (case-insensitive) to its bit.
func ParseSysFlag(name string) (SysFlags, bool) {
	for i, n := range SysFlagNames {
		if strings.EqualFold(n, name) {
			return 1 << i, true
		}
	}
	return 0, false
}

// FlagsFromNames builds a Flags value from IMAP flag names. \Recent and
// other unknown backslash flags are dropped. Keywords are deduplicated
// case-insensitively and sorted case-insensitively.
func FlagsFromNames(names []string) Flags {
	var f Flags
	for _, n := range names {
		if sf, ok := ParseSysFlag(n); ok {
			f.System |= sf
			continue
		}
		if strings.HasPrefix(n, `\`) {
			continue
		}
		f.Keywords = addKeyword(f.Keywords, n)
	}
	return f
}

func addKeyword(ks []string, k string) []string {
	lk := strings.ToLower(k)
	for i, e := range ks {
		le := strings.ToLower(e)
		if le == lk {
			return ks
		}
		if le > lk {
			ks = append(ks, "")
			copy(ks[i+1:], ks[i:])
			ks[i] = k
			return ks
		}
	}
	return append(ks, k)
}

// FlagOp is how StoreFlags combines the given flags with the current ones.
type FlagOp uint8

const (
	FlagsReplace FlagOp = iota // FLAGS
	FlagsAdd                   // +FLAGS
	FlagsRemove                // -FLAGS
)

// Apply returns the result of op applied to cur with arg.
func (op FlagOp) Apply(cur, arg Flags) Flags {
	switch op {
	case FlagsReplace:
		return Flags{System: arg.System, Keywords: append([]string(nil), arg.Keywords...)}
	case FlagsAdd:
		out := Flags{System: cur.System | arg.System, Keywords: append([]string(nil), cur.Keywords...)}
		for _, k := range arg.Keywords {
			out.Keywords = addKeyword(out.Keywords, k)
		}
		return out
	default:
		out := Flags{System: cur.System &^ arg.System}
		for _, k := range cur.Keywords {
			drop := false
			for _, a := range arg.Keywords {
				if strings.EqualFold(a, k) {
					drop = true
					break
				}
			}
			if !drop {
				out.Keywords = append(out.Keywords, k)
			}
		}
		return out
	}
}

// Account is one login. Name is stored lower-cased; lookups are
// case-insensitive. Secret is opaque to the store: internal/auth encodes
// the argon2id hash and the SCRAM keys into it.
type Account struct {
	ID         int64
	Name       string
	Secret     []byte
	QuotaBytes int64 // 0 = unlimited
	Created    time.Time
}

// Mailbox is one folder of an account. Name is UTF-8 with "/" as the
// hierarchy separator; "INBOX" is always spelled in upper case.
type Mailbox struct {
	ID            int64
	AccountID     int64
	Name          string
	UIDValidity   uint32
	UIDNext       UID
	HighestModSeq ModSeq
	// FirstRecent is the lowest UID that no session has yet claimed as
	// \Recent (RFC 3501 §2.3.2). ClaimRecent advances it.
	FirstRecent UID
	SpecialUse  string // RFC 6154 attribute such as `\Sent`, or ""
	Subscribed  bool
}

// ObjectID is the mailbox's RFC 8474 MAILBOXID (objectid: 1*255 of
// ALPHA, DIGIT, "_", "-"). It is derived from UIDVALIDITY, which a
// store hands out from a counter that never repeats within the store
// and keeps across RENAME (RFC 8474 §4: a MAILBOXID survives renames and
// is never reused for another mailbox). INBOX, whose RENAME moves its
// messages to a new mailbox, keeps its own.
func (m *Mailbox) ObjectID() string {
	return "F" + strconv.FormatUint(uint64(m.UIDValidity), 16)
}

// EmailObjectID renders a message's RFC 8474 EMAILID. 0 (a record read
// without FieldBasics) has none.
func EmailObjectID(id int64) string {
	return "M" + strconv.FormatUint(uint64(id), 16)
}

// ParseEmailObjectID is EmailObjectID's inverse; ok is false for a
// string no message of this store can have.
func ParseEmailObjectID(s string) (int64, bool) {
	if len(s) < 2 || len(s) > 17 || s[0] != 'M' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 63)
	if err != nil || v == 0 || strconv.FormatUint(v, 16) != s[1:] {
		return 0, false
	}
	return int64(v), true
}

// Status is the counting part of STATUS (RFC 9051 §6.3.11).
type Status struct {
	Messages uint32
	Unseen   uint32
	Deleted  uint32
	Recent   uint32 // messages with UID >= FirstRecent
	Size     int64  // sum of RFC822.SIZE
	Mailbox  Mailbox
	// DeletedSize is the sum of RFC822.SIZE of the messages with
	// \Deleted, filled by callers that need it (DeletedSizer), never by
	// MailboxStatus.
	DeletedSize int64
}

// Message is a stored message record. Everything FETCH needs except
// body sections comes from here, computed once at delivery.
type Message struct {
	MailboxID    int64
	UID          UID
	ModSeq       ModSeq
	Flags        Flags
	BlobID       string
	Size         int64 // RFC822.SIZE: bytes of the stored message
	InternalDate time.Time
	SaveDate     time.Time
	// EmailID identifies the message's content for RFC 8474 EMAILID
	// (FieldBasics): random at delivery, carried by COPY and MOVE, so a
	// message keeps it wherever it is filed.
	EmailID int64
	// ThreadID is the RFC 8474 THREADID (FieldBasics): given at delivery
	// from the message's Message-ID, In-Reply-To and References (thread.go),
	// never changed after, carried by COPY and MOVE. 0: none (a message
	// stored before threads were computed and not yet backfilled).
	ThreadID int64

	// Preview is the RFC 8970 preview text (FieldPreview), valid when
	// HasPreview is set: messages stored before previews were computed
	// have none until SetPreview.
	Preview    string
	HasPreview bool

	// Header is the raw top-level header block, including the blank line
	// that ends it (when the message has one).
	Header []byte
	// Structure is the serialized MIME tree with byte offsets
	// (internal/mail/mime). Opaque to the store.
	Structure []byte
	// Envelope is the rendered IMAP ENVELOPE, computed at delivery.
	Envelope []byte
	// Inline is the message's bytes when FieldInline was asked and the
	// store keeps them (else nil; an empty message is a non-nil empty
	// slice). The caller's to keep.
	Inline []byte

	// Search fields, decoded to UTF-8 and folded to lower case at
	// delivery, so header SEARCH keys need not parse headers.
	Subject  string
	From     string
	To       string
	Cc       string
	Bcc      string
	SentDate time.Time // Date: header; zero if absent or unparseable
}

// Fields tells FetchMessages which parts of a record the caller needs,
// so a FLAGS-only FETCH never loads structure or envelopes.
type Fields uint16

const (
	FieldFlags     Fields = 1 << iota // ModSeq, Flags
	FieldBasics                       // BlobID, Size, InternalDate, SaveDate
	FieldHeader                       // Header
	FieldStructure                    // Structure
	FieldEnvelope                     // Envelope
	FieldSearch                       // Subject..Bcc, SentDate
	// FieldSize is Size alone (RFC822.SIZE), which a store may serve
	// without reading the wide record; FieldBasics includes it.
	FieldSize
	FieldPreview // Preview, HasPreview (RFC 8970)
	// FieldInline asks, besides FieldBasics, for the message's bytes
	// when the store keeps them itself (small messages, written in the
	// transaction that adds the record): Message.Inline, nil when the
	// bytes are in the blob store. A FETCH of a few whole messages
	// then reads records and bytes in one query instead of one more
	// per message (PostgreSQL: a round trip each). The bytes are those
	// of the blob named by BlobID (content-addressed), so they never go
	// stale. Not part of FieldAll.
	FieldInline
	FieldAll Fields = 0xff
)

// NewMessage is a message ready to be appended: its blob already written
// and synced, its metadata computed.
type NewMessage struct {
	Flags  Flags
	BlobID string
	// Inline, when not nil, holds the message's bytes (whose SHA-256 is
	// BlobID), which were not written to the blob store: the store keeps
	// them in the same transaction as the message row, so one commit
	// makes the message durable (store/sqlite: table blobdata, for
	// messages up to [storage] inline_max_bytes). A store that cannot
	// must not be handed Inline bytes (internal/deliver checks for
	// OpenInline first).
	Inline       []byte
	Size         int64
	InternalDate time.Time
	Header       []byte
	Structure    []byte
	Envelope     []byte
	Subject      string
	From         string
	To           string
	Cc           string
	Bcc          string
	SentDate     time.Time
	// Preview is the RFC 8970 preview, computed at delivery; HasPreview
	// false stores none (computed on first FETCH PREVIEW).
	Preview    string
	HasPreview bool
	// EmailID is the RFC 8474 EMAILID; 0 lets the store choose a new one.
	EmailID int64
	// MessageID and References are what the store threads the message
	// by (header.ThreadFields: its own Message-ID and the ids it refers
	// to, nearest ancestor first). ThreadID, when not 0, is the RFC 8474
	// THREADID to keep (barid store copy); 0 lets the store choose by
	// the rules of thread.go.
	MessageID  string
	References []string
	ThreadID   int64
}

// ChangeKind says what a Change describes.
type ChangeKind uint8

const (
	ChangeAdded ChangeKind = iota + 1
	ChangeFlags
	ChangeExpunged
	ChangeMailboxCreated
	ChangeMailboxDeleted
	ChangeMailboxRenamed
	ChangeSubscribed
	ChangeUnsubscribed
	// ChangePrivateSeen: one user's private \Seen on a shared mailbox
	// changed (PrivateSeenStore). Its AccountID is that user's, not the
	// mailbox owner's, so the bus carries it to that user's sessions
	// only; MailboxID, UID, ModSeq are set, Flags holds the user's view
	// (the message's other flags are not carried: the session reads them).
	ChangePrivateSeen
	// ChangeACL: a mailbox's ACL changed (RFC 4314 SETACL, DELETEACL, a
	// new mailbox inheriting its parent's, `barid mailbox setacl`).
	// AccountID is the mailbox's owner, MailboxID the mailbox, Name its
	// name in the owner's account. Whose rights it changes depends on
	// identifiers and groups, so the bus gives it to every session
	// (notify.Bus), and each works out its own rights again.
	ChangeACL
)

// Change is one typed effect of a committed write.
type Change struct {
	Kind      ChangeKind
	AccountID int64
	MailboxID int64
	UID       UID    // Added, Flags, Expunged
	ModSeq    ModSeq // the modseq the change was given
	Flags     Flags  // Added, Flags: the new flag state
	Size      int64  // Added: RFC822.SIZE
	Name      string // mailbox name (new name for renames)
	OldName   string // renames
	// UIDValidity of the mailbox, for created/renamed mailboxes.
	UIDValidity uint32
	// Origin is the session that made the change (its connection id),
	// stamped by the publisher, never by the store; 0 for deliveries and
	// tools. NOTIFY uses it to omit a client's own events (RFC 5465 §5).
	Origin uint64
}

// StoreResult is the outcome of StoreFlags for one message.
type StoreResult struct {
	UID    UID
	ModSeq ModSeq
	Flags  Flags
}

// CopyResult maps source UIDs to destination UIDs in order (RFC 4315).
type CopyResult struct {
	UIDValidity uint32
	SrcUIDs     []UID
	DstUIDs     []UID
}

// Sentinel errors. The IMAP server maps them to response codes in one
// place (RFC 5530).
var (
	ErrNoAccount       = errors.New("no such account")
	ErrAccountExists   = errors.New("account already exists")
	ErrNoMailbox       = errors.New("no such mailbox")                         // [NONEXISTENT] / [TRYCREATE]
	ErrMailboxExists   = errors.New("mailbox exists")                          // [ALREADYEXISTS]
	ErrMailboxInferior = errors.New("mailbox has inferior hierarchical names") // RFC 9051 §6.3.5
	ErrCannot          = errors.New("operation not permitted on this mailbox") // [CANNOT]
	ErrOverQuota       = errors.New("over quota")                              // [OVERQUOTA]
	ErrNoMessage       = errors.New("no such message")                         // REPLACE of an expunged message
)

// Store is the metadata store. Implementations: store/sqlite (embedded
// default) and store/postgres (shared by several nodes). All methods are safe for concurrent
// use. Name arguments are account-relative UTF-8 mailbox names.
type Store interface {
	// Accounts.
	CreateAccount(ctx context.Context, name string, secret []byte) (*Account, error)
	Account(ctx context.Context, name string) (*Account, error)
	AccountByID(ctx context.Context, id int64) (*Account, error)
	SetAccountSecret(ctx context.Context, accountID int64, secret []byte) error
	// ReplaceAccountSecret sets the secret to new only if it is still
	// old (compare and swap), for a re-hash at login that must not undo
	// a password change made meanwhile. It reports whether it replaced
	// it; ErrNoAccount if there is no such account.
	ReplaceAccountSecret(ctx context.Context, accountID int64, old, new []byte) (bool, error)
	DeleteAccount(ctx context.Context, accountID int64) error
	Accounts(ctx context.Context) ([]Account, error)

	// Mailboxes. CreateMailbox does not create missing parents; the
	// caller does that (RFC 9051 §6.3.4). DeleteMailbox refuses INBOX
	// with ErrCannot. RenameMailbox renames inferiors too; renaming
	// INBOX is the caller's job (move messages, RFC 9051 §6.3.6).
	CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (*Mailbox, []Change, error)
	Mailbox(ctx context.Context, accountID int64, name string) (*Mailbox, error)
	MailboxByID(ctx context.Context, id int64) (*Mailbox, error)
	Mailboxes(ctx context.Context, accountID int64) ([]Mailbox, error)
	DeleteMailbox(ctx context.Context, accountID int64, name string) ([]Change, error)
	RenameMailbox(ctx context.Context, accountID int64, oldName, newName string) ([]Change, error)
	// Subscriptions may name mailboxes that do not exist (RFC 9051 §6.3.7).
	SetSubscribed(ctx context.Context, accountID int64, name string, on bool) ([]Change, error)
	Subscriptions(ctx context.Context, accountID int64) ([]string, error)
	MailboxStatus(ctx context.Context, mailboxID int64) (*Status, error)

	// Messages. uids arguments are sorted ascending and duplicate-free.
	AppendMessages(ctx context.Context, mailboxID int64, msgs []NewMessage) ([]UID, []Change, error)
	// MessageUIDs returns every UID in the mailbox, ascending, with the
	// mailbox row read in the same transaction.
	MessageUIDs(ctx context.Context, mailboxID int64) (*Mailbox, []UID, error)
	// UIDsAfter returns the UIDs greater than after, ascending. Because
	// UIDs are assigned in commit order, the result never has gaps that
	// a later read would fill.
	UIDsAfter(ctx context.Context, mailboxID int64, after UID) ([]UID, error)
	// FirstUnseen returns the lowest UID without \Seen, or 0.
	FirstUnseen(ctx context.Context, mailboxID int64) (UID, error)
	// ExpungedSince returns, ascending, the UIDs expunged with a modseq
	// above since (QRESYNC VANISHED (EARLIER), RFC 7162 §3.2.5.1).
	ExpungedSince(ctx context.Context, mailboxID int64, since ModSeq) ([]UID, error)
	// ExpungedFlags returns, ascending, those of the listed UIDs that
	// were expunged from the mailbox (their tombstones), each with the
	// flags its message had when expunged and the modseq of the
	// expunge. A session that has not yet been told of an expunge
	// answers STORE and FETCH FLAGS on the message with them, as Dovecot
	// does (RFC 2180 §4.2 allows it). Tombstones written before the
	// store kept flags report none.
	ExpungedFlags(ctx context.Context, mailboxID int64, uids []UID) ([]StoreResult, error)
	// Keywords returns every keyword used in the mailbox, sorted.
	Keywords(ctx context.Context, mailboxID int64) ([]string, error)
	// FetchMessages calls fn for each listed UID that exists, in UID
	// order, filling only the requested fields (UID and MailboxID are
	// always set). fn must not call back into the store, and must not
	// keep m after it returns: the store may reuse it for the next one.
	// The byte slices m carries (Header, Structure, Envelope) may be
	// shared with other callers (a cache of immutable records): they may
	// be kept, but never modified.
	FetchMessages(ctx context.Context, mailboxID int64, uids []UID, fields Fields, fn func(*Message) error) error
	// StoreFlags changes flags. If unchangedSince > 0 (RFC 7162
	// CONDSTORE), messages whose modseq is greater are left alone and
	// returned in failed. Messages whose flags do not change get no new
	// modseq and no change.
	StoreFlags(ctx context.Context, mailboxID int64, uids []UID, op FlagOp, flags Flags, unchangedSince ModSeq) (results []StoreResult, failed []UID, changes []Change, err error)
	// Expunge removes the listed messages, or, if uids is nil, every
	// message with \Deleted. It returns the expunged UIDs.
	Expunge(ctx context.Context, mailboxID int64, uids []UID) ([]UID, []Change, error)
	// CopyMessages copies (sharing blobs) into dst, keeping flags.
	CopyMessages(ctx context.Context, srcMailboxID int64, uids []UID, dstMailboxID int64) (*CopyResult, []Change, error)
	// MoveMessages copies then expunges from src in one transaction
	// (RFC 6851).
	MoveMessages(ctx context.Context, srcMailboxID int64, uids []UID, dstMailboxID int64) (*CopyResult, []Change, error)
	// ReplaceMessage appends msg to dst and expunges uid from src in one
	// transaction (RFC 8508 REPLACE); ErrNoMessage if uid is gone. The
	// changes are dst's Added followed by src's Expunged.
	ReplaceMessage(ctx context.Context, srcMailboxID int64, uid UID, dstMailboxID int64, msg NewMessage) (UID, []Change, error)
	// SetPreview records the preview of a message that had none
	// (RFC 8970: computed on first fetch for messages stored before
	// previews were); a message that has one keeps it.
	SetPreview(ctx context.Context, mailboxID int64, uid UID, preview string) error
	// ClaimRecent claims for the calling session the messages from
	// FirstRecent up to and including upTo (the highest UID the session
	// has taken into its view; a value at or above UIDNEXT claims them
	// all) and returns the previous FirstRecent: the session treats its
	// UIDs from there through upTo as \Recent (RFC 3501 §2.3.2: a
	// message is recent in exactly one session). Bounding the claim by
	// what the caller has seen keeps a message appended between the
	// caller's listing and its claim unclaimed, for the next session.
	ClaimRecent(ctx context.Context, mailboxID int64, upTo UID) (UID, error)

	// Import (barid import, barid migrate): keep the source's UIDs so
	// that clients re-download nothing (RFC 9051 §2.3.1.1: a client may
	// keep its cache while UIDVALIDITY is unchanged).
	//
	// SetUIDValidity gives a mailbox that never held a message (UIDNEXT
	// 1) the UIDVALIDITY of the mailbox it is imported from. Another
	// mailbox of the same account that never held a message and has that
	// UIDVALIDITY gets a fresh one (its MAILBOXID, RFC 8474, changes
	// with it); if one that did hold messages has it, or the mailbox
	// itself did, the result is ErrCannot. The store's UIDVALIDITY
	// counter moves past uidValidity, so a mailbox created later never
	// repeats it.
	SetUIDValidity(ctx context.Context, mailboxID int64, uidValidity uint32) (*Mailbox, error)
	// AppendMessagesAt is AppendMessages with the UIDs chosen by the
	// caller: uids[i] is msgs[i]'s, strictly ascending, the first at
	// least the mailbox's UIDNEXT (else ErrCannot). UIDNEXT becomes
	// max(last UID+1, uidNext); uidNext 0 (or lower) sets nothing more,
	// and msgs may be empty to raise UIDNEXT alone (the source's UIDNEXT
	// past expunged messages). All messages share one new modseq.
	AppendMessagesAt(ctx context.Context, mailboxID int64, uids []UID, msgs []NewMessage, uidNext UID) ([]Change, error)

	// Integrity. BlobRefs calls fn with each distinct blob ID referenced
	// by any message row.
	BlobRefs(ctx context.Context, fn func(blobID string) error) error
	BlobReferenced(ctx context.Context, blobID string) (bool, error)
	// Flush makes every write committed before it was called durable,
	// the lazy ones included (flag changes, \Recent claims and
	// expunges, which [storage] sync_index = false commits without an
	// fsync or WAL flush). Whoever deletes bytes because no message
	// references them any more calls it in between (BlobInUse): an
	// expunge undone by a power loss must find its message's bytes.
	Flush(ctx context.Context) error

	Close() error
}

// BlobInUse reports whether a message references blobID, for a caller
// about to delete the blob when none does. A "no" is made durable
// first (Store.Flush): the last reference may have gone in an expunge
// that is committed but not yet durable, which a power loss would undo,
// leaving a message without its bytes. On error it reports true.
func BlobInUse(ctx context.Context, s Store, blobID string) (bool, error) {
	ok, err := s.BlobReferenced(ctx, blobID)
	if err != nil || ok {
		return true, err
	}
	if err := s.Flush(ctx); err != nil {
		return true, err
	}
	return false, nil
}

// Sorter is an optional acceleration: every UID of a mailbox ordered by
// "ARRIVAL", "DATE" or "SIZE" (RFC 5256 §3), ties in UID order.
type Sorter interface {
	SortUIDs(ctx context.Context, mailboxID int64, by string, reverse bool) ([]UID, error)
}

// NormalizeAccountName returns the canonical form of a login name.
func NormalizeAccountName(name string) string {
	return strings.ToLower(strings.TrimSpace(name))
}
