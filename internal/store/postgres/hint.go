package postgres

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// The cross-node change bus (docs/scale-out.md, "Change bus between
// nodes"). Every write transaction that returns changes also queues
// PostgreSQL notifications on channel notifyChannel (NOTIFY is
// transactional: they are delivered at COMMIT, in commit order, and not
// at all on ROLLBACK). A notification is a hint, not the data: for
// message changes it names the mailbox, the MODSEQ range the transaction
// allocated and the UIDs it added, and the listener (listen.go) reads
// the rows from the store. Mailbox-list changes carry their names,
// because a deleted mailbox or a rename's old name can no longer be read
// back.

// notifyChannel is the LISTEN/NOTIFY channel. Channels are per database,
// so two mail stores in one PostgreSQL cluster do not hear each other.
const notifyChannel = "barid_changes"

// maxPayload is PostgreSQL's limit on a NOTIFY payload (8000 bytes in
// the default build) less a margin. A list change whose names do not fit
// is sent as a resync hint instead (hintResync).
const maxPayload = 7900

// hint kinds, the first byte of a payload.
const (
	hintMessages = 'M' // M node account mailbox lo hi ulo uhi
	hintList     = 'L' // L node account kind mailbox uidvalidity "name" "oldname"
	hintResync   = 'R' // R node account: re-read the account's mailbox list
	// P node account mailbox modseq: account's private \Seen
	// (store.PrivateSeenStore) on mailbox changed at modseq; the
	// listener reads those rows and publishes store.ChangePrivateSeen.
	hintPrivateSeen = 'P'
)

// hint is one decoded notification.
type hint struct {
	kind    byte
	node    uint64
	account int64
	mailbox int64
	// Messages: the transaction allocated MODSEQs (lo, hi] and added
	// UIDs ulo..uhi (0, 0: none).
	lo, hi   store.ModSeq
	ulo, uhi store.UID
	// List: the change itself.
	change store.Change
}

// newNodeID returns a random, non-zero id for this store instance: the
// listener skips notifications carrying its own id, whose changes were
// already published on the local bus.
func newNodeID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// encodeHints turns a transaction's changes into notification payloads:
// one per mailbox whose messages changed, one per mailbox-list or
// subscription change.
func encodeHints(node uint64, changes []store.Change) []string {
	type span struct {
		account  int64
		lo, hi   store.ModSeq
		ulo, uhi store.UID
	}
	var order []int64
	spans := map[int64]*span{}
	var out []string
	for i := range changes {
		c := &changes[i]
		switch c.Kind {
		case store.ChangePrivateSeen:
			// One hint per mailbox and modseq (SetPrivateSeen gives a
			// call's rows one modseq).
			p := fmt.Sprintf("%c %x %d %d %d", hintPrivateSeen, node, c.AccountID, c.MailboxID, c.ModSeq)
			if len(out) == 0 || out[len(out)-1] != p {
				out = append(out, p)
			}
		case store.ChangeAdded, store.ChangeFlags, store.ChangeExpunged:
			sp := spans[c.MailboxID]
			if sp == nil {
				sp = &span{account: c.AccountID, lo: c.ModSeq, hi: c.ModSeq}
				spans[c.MailboxID] = sp
				order = append(order, c.MailboxID)
			}
			sp.lo, sp.hi = min(sp.lo, c.ModSeq), max(sp.hi, c.ModSeq)
			if c.Kind == store.ChangeAdded {
				if sp.ulo == 0 || c.UID < sp.ulo {
					sp.ulo = c.UID
				}
				sp.uhi = max(sp.uhi, c.UID)
			}
		default:
			p := fmt.Sprintf("%c %x %d %d %d %d %s %s", hintList, node, c.AccountID, c.Kind, c.MailboxID,
				c.UIDValidity, strconv.Quote(c.Name), strconv.Quote(c.OldName))
			if len(p) > maxPayload {
				p = fmt.Sprintf("%c %x %d", hintResync, node, c.AccountID)
			}
			out = append(out, p)
		}
	}
	for _, id := range order {
		sp := spans[id]
		// The transaction's MODSEQs are consecutive from the
		// mailbox's previous HIGHESTMODSEQ + 1 (bump adds one per
		// step), so lo-1 is where this transaction started.
		out = append(out, fmt.Sprintf("%c %x %d %d %d %d %d %d", hintMessages, node, sp.account, id,
			sp.lo-1, sp.hi, sp.ulo, sp.uhi))
	}
	return out
}

var errBadHint = errors.New("postgres: malformed change notification")

// decodeHint parses a payload made by encodeHints.
func decodeHint(p string) (hint, error) {
	var h hint
	if p == "" {
		return h, errBadHint
	}
	h.kind = p[0]
	f := strings.SplitN(p, " ", 8)
	num := func(i int) int64 {
		if i >= len(f) {
			return -1
		}
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || v < 0 {
			return -1
		}
		return v
	}
	if len(f) < 3 || len(f[0]) != 1 {
		return h, errBadHint
	}
	node, err := strconv.ParseUint(f[1], 16, 64)
	if err != nil {
		return h, errBadHint
	}
	h.node = node
	if h.account = num(2); h.account < 0 {
		return h, errBadHint
	}
	switch h.kind {
	case hintResync:
		if len(f) != 3 {
			return h, errBadHint
		}
		return h, nil
	case hintPrivateSeen:
		if len(f) != 5 {
			return h, errBadHint
		}
		mb, ms := num(3), num(4)
		if mb < 0 || ms <= 0 {
			return h, errBadHint
		}
		h.mailbox, h.hi = mb, store.ModSeq(ms)
		return h, nil
	case hintMessages:
		if len(f) != 8 {
			return h, errBadHint
		}
		v := [5]int64{num(3), num(4), num(5), num(6), num(7)}
		for _, x := range v {
			if x < 0 {
				return h, errBadHint
			}
		}
		h.mailbox, h.lo, h.hi, h.ulo, h.uhi = v[0], store.ModSeq(v[1]), store.ModSeq(v[2]), store.UID(v[3]), store.UID(v[4])
		if h.hi <= h.lo || h.ulo > h.uhi {
			return h, errBadHint
		}
		return h, nil
	case hintList:
		if len(f) != 7 && len(f) != 8 {
			return h, errBadHint
		}
		kind, mb, uv := num(3), num(4), num(5)
		okKind := kind >= int64(store.ChangeMailboxCreated) && kind <= int64(store.ChangeUnsubscribed) || kind == int64(store.ChangeACL)
		if !okKind || mb < 0 || uv < 0 || uv > 1<<32-1 {
			return h, errBadHint
		}
		// The names are Go-quoted and may contain spaces: parse the
		// rest as two quoted strings.
		rest := strings.Join(f[6:], " ")
		name, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return h, errBadHint
		}
		tail := strings.TrimPrefix(rest[len(name):], " ")
		old, err := strconv.QuotedPrefix(tail)
		if err != nil || len(old) != len(tail) {
			return h, errBadHint
		}
		n, _ := strconv.Unquote(name)
		o, _ := strconv.Unquote(old)
		h.mailbox = mb
		h.change = store.Change{Kind: store.ChangeKind(kind), AccountID: h.account, MailboxID: mb,
			UIDValidity: uint32(uv), Name: n, OldName: o}
		return h, nil
	}
	return h, errBadHint
}

// hintNode is this node's id as the payloads of encodeHints spell it,
// for the functions that send their hints from SQL (barid_store_flags,
// barid_expunge); "" when the store sends no notifications (silent).
func (s *Store) hintNode() string {
	if s.silent {
		return ""
	}
	return strconv.FormatUint(s.node, 16)
}

// notifyTx queues the notifications for changes in tx; they are sent
// when tx commits.
func (s *Store) notifyTx(ctx context.Context, tx pgx.Tx, changes []store.Change) error {
	if len(changes) == 0 || s.silent {
		return nil
	}
	const q = `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`
	if t, ok := tx.(*ptx); ok {
		// Sent with COMMIT, in the same round trip.
		t.deferMerge(mergeSelect, q, notifyChannel, encodeHints(s.node, changes))
		return nil
	}
	_, err := tx.Exec(ctx, q, notifyChannel, encodeHints(s.node, changes))
	return err
}

// writeChanges is write for methods that report changes through *ch:
// after fn succeeds, the changes' notifications are queued in the same
// transaction.
func (s *Store) writeChanges(ctx context.Context, ch *[]store.Change, fn func(tx pgx.Tx) error) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.notifyTx(ctx, tx, *ch)
	})
}
