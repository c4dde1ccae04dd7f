package pop3

import (
	"context"
	"errors"
	"fmt"

	"barid/internal/notify"
	"barid/internal/store"
)

// maildrop is a session's snapshot of INBOX (RFC 1939 §4: the maildrop
// is locked and its messages numbered when the session enters the
// TRANSACTION state). Message n is uids[n-1]; the numbering never
// changes during the session.
type maildrop struct {
	srv         *Server
	mailboxID   int64
	uidValidity uint32
	uids        []store.UID
	sizes       []int64 // RFC822.SIZE: CRLF line ends, no stuffing
	total       int64

	deleted      bitset // DELE, applied at QUIT
	deletedCount int
	deletedSize  int64
	seen         bitset // RETR of a message without \Seen
	seenCount    int

	// win caches the records (blob id, \Seen) of up to windowSize
	// messages from win.first on: clients RETR in order, so one store
	// read serves the next windowSize RETRs.
	win recordWindow
	// sub tells of INBOX changes made while the session runs (by IMAP
	// sessions, deliveries): an expunge invalidates the window and the
	// bytes read ahead. nil without a bus; then nothing is read ahead.
	sub *notify.Subscription
	// noBatch: the blob store has no batch read of inline bytes.
	noBatch bool
}

// windowSize bounds the records a session caches (about 5 KiB).
const windowSize = 64

type recordWindow struct {
	first int // message number of blobs[0]; 0: empty
	blobs []string
	seen  []bool
	// data holds the bytes of messages read ahead from the inline store
	// (prefetched), each dropped once sent; they were asked for from
	// window index from up to ahead.
	data        [][]byte
	from, ahead int
}

// readAheadBytes bounds the message bytes a session reads ahead of its
// RETRs in one query (prefetch): about 8 typical messages, at most
// this much memory per session, given back as they are sent.
const readAheadBytes = 128 << 10

// inlineBatch is the blob store's batch read of inline message bytes
// (blob/tiered over store/sqlite: one query for several messages).
type inlineBatch interface {
	OpenInlineMany(ctx context.Context, ids []string, fn func(id string, data []byte) error) error
}

// record returns message n's blob id and whether it had \Seen, from
// the window or, when n is outside it, by reading the records of n and
// the messages after it. ok is false if the message was expunged (by
// another client) when the window was read.
func (d *maildrop) record(ctx context.Context, n int) (blobID string, seen, ok bool, err error) {
	w := &d.win
	if w.first == 0 || n < w.first || n >= w.first+len(w.blobs) {
		end := min(n-1+windowSize, len(d.uids))
		uids := d.uids[n-1 : end]
		if w.blobs == nil {
			w.blobs, w.seen = make([]string, windowSize), make([]bool, windowSize)
		}
		w.blobs, w.seen = w.blobs[:len(uids)], w.seen[:len(uids)]
		clear(w.blobs)
		clear(w.data)
		w.data, w.from, w.ahead = w.data[:0], 0, 0
		i := 0
		err := d.srv.cfg.Store.FetchMessages(ctx, d.mailboxID, uids, store.FieldBasics|store.FieldFlags, func(m *store.Message) error {
			for i < len(uids) && uids[i] != m.UID {
				i++
			}
			if i < len(uids) {
				w.blobs[i], w.seen[i] = m.BlobID, m.Flags.System&store.FlagSeen != 0
				i++
			}
			return nil
		})
		if err != nil {
			w.first = 0
			return "", false, false, err
		}
		w.first = n
	}
	i := n - w.first
	if w.blobs[i] == "" {
		return "", false, false, nil
	}
	return w.blobs[i], w.seen[i], true, nil
}

// forget drops message n from the window (its bytes could not be
// opened: the next RETR reads its record again).
func (d *maildrop) forget() {
	d.win.first = 0
	clear(d.win.data)
	d.win.from, d.win.ahead = 0, 0
}

// sync drops the cached records and bytes read ahead if another client
// expunged INBOX messages since they were read (the next RETR reads
// them again and answers "-ERR Message n expunged." for those gone).
// Other changes (new mail, flags) do not matter to the snapshot.
func (d *maildrop) sync() {
	if d.sub == nil || !d.sub.Pending() {
		return
	}
	for _, ch := range d.sub.Drain() {
		if ch.Kind == store.ChangeExpunged {
			d.forget()
			return
		}
	}
}

// prefetched returns message n's bytes if the blob store keeps them
// inline, reading them ahead with those of the next messages in the
// window, up to readAheadBytes in all, in one query: clients RETR in
// order, so one query serves several RETRs. nil means "open the blob"
// (kept in a file, too large to read ahead, or sent once already). n
// must be in the window (record returned it).
func (d *maildrop) prefetched(ctx context.Context, n int) ([]byte, error) {
	batch, ok := d.srv.cfg.Blobs.(inlineBatch)
	if !ok || d.noBatch || d.sub == nil {
		return nil, nil
	}
	w := &d.win
	i := n - w.first
	if i < w.from || i >= w.ahead {
		// Not asked for yet: read ahead from message n on.
		if d.sizes[n-1] > readAheadBytes {
			return nil, nil
		}
		if w.data == nil {
			w.data = make([][]byte, 0, windowSize)
		}
		w.data = w.data[:len(w.blobs)]
		clear(w.data)
		var ids []string
		var total int64
		end := i
		for ; end < len(w.blobs); end++ {
			sz := d.sizes[w.first+end-1]
			if w.blobs[end] == "" || sz > readAheadBytes {
				continue // expunged or too large: skipped, not fetched
			}
			if total+sz > readAheadBytes && end > i {
				break
			}
			total += sz
			ids = append(ids, w.blobs[end])
		}
		w.from, w.ahead = i, end
		err := batch.OpenInlineMany(store.WithBulk(ctx), ids, func(id string, data []byte) error {
			// The same bytes may be several messages (one row).
			for j := i; j < end; j++ {
				if w.blobs[j] == id {
					w.data[j] = data
				}
			}
			return nil
		})
		if errors.Is(err, errors.ErrUnsupported) {
			d.noBatch = true
			clear(w.data)
			w.from, w.ahead = 0, 0
			return nil, nil
		}
		if err != nil {
			clear(w.data)
			w.from, w.ahead = 0, 0
			return nil, err
		}
	}
	if i >= len(w.data) {
		return nil, nil
	}
	data := w.data[i]
	w.data[i] = nil // sent once: the memory goes back
	return data, nil
}

// openMaildrop locks the account's INBOX and numbers its messages. It
// returns errInUse if another POP3 session holds the lock.
func (s *Server) openMaildrop(ctx context.Context, accountID int64) (*maildrop, error) {
	mb, err := s.cfg.Mailboxes.Inbox(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if !s.lock(mb.ID) {
		return nil, errInUse
	}
	d := &maildrop{srv: s, mailboxID: mb.ID}
	mbox, uids, err := s.cfg.Store.MessageUIDs(ctx, mb.ID)
	if err != nil {
		s.unlock(mb.ID)
		return nil, err
	}
	d.uidValidity = mbox.UIDValidity
	d.uids = uids
	d.sizes = make([]int64, len(uids))
	i := 0
	err = s.cfg.Store.FetchMessages(ctx, mb.ID, uids, store.FieldSize, func(m *store.Message) error {
		// FetchMessages skips messages expunged since MessageUIDs:
		// keep the numbering, and let RETR say "expunged".
		for i < len(uids) && uids[i] != m.UID {
			i++
		}
		if i < len(uids) {
			d.sizes[i] = m.Size
			d.total += m.Size
			i++
		}
		return nil
	})
	if err != nil {
		s.unlock(mb.ID)
		return nil, err
	}
	d.deleted = newBitset(len(uids))
	d.seen = newBitset(len(uids))
	if s.cfg.Bus != nil {
		d.sub = s.cfg.Bus.Subscribe(accountID)
		d.sub.Filter(mb.ID)
	}
	return d, nil
}

// close releases the lock.
func (d *maildrop) close() {
	if d.sub != nil {
		d.sub.Close()
	}
	d.srv.unlock(d.mailboxID)
}

// count is the number of messages not marked deleted (STAT).
func (d *maildrop) count() int { return len(d.uids) - d.deletedCount }

// size is the octets of the messages not marked deleted (STAT).
func (d *maildrop) size() int64 { return d.total - d.deletedSize }

// uidl is message n's unique-id (RFC 1939 §7 UIDL), Dovecot's default
// pop3_uidl_format "%08Xu%08Xv": UID, then UIDVALIDITY, each as 8 hex
// digits. Dovecot 2.3 writes them in lower case despite the "X" (seen
// against dovecot-pop3d 2.3.19 in internal/oracle), so barid does too.
func (d *maildrop) uidl(n int) string {
	return fmt.Sprintf("%08x%08x", uint32(d.uids[n-1]), d.uidValidity)
}

// msg resolves a message number: "" if n is a message that is not
// deleted, or the -ERR text (as Dovecot words it).
func (d *maildrop) msg(n int) string {
	if n < 1 || n > len(d.uids) {
		return fmt.Sprintf("There's no message %d.", n)
	}
	if d.deleted.has(n - 1) {
		return "Message is deleted."
	}
	return ""
}

func (d *maildrop) dele(n int) {
	d.deleted.set(n - 1)
	d.deletedCount++
	d.deletedSize += d.sizes[n-1]
}

// markSeen remembers that RETR sent message n, which had no \Seen.
func (d *maildrop) markSeen(n int) {
	if !d.seen.has(n - 1) {
		d.seen.set(n - 1)
		d.seenCount++
	}
}

// rset unmarks every deletion and pending \Seen (RFC 1939 §5 RSET; the
// \Seen part as Dovecot does).
func (d *maildrop) rset() {
	d.deleted.clear()
	d.deletedCount, d.deletedSize = 0, 0
	d.seen.clear()
	d.seenCount = 0
}

// commit writes the session's changes through the store and publishes
// them on the bus, so IMAP sessions (IDLE included) see them at once:
// \Seen for messages RETR sent, and, at QUIT (expunge set), the
// expunge of the deleted ones (RFC 1939 §6 UPDATE state). Messages
// already expunged by another client are skipped by the store.
func (d *maildrop) commit(ctx context.Context, expunge bool) error {
	st, bus := d.srv.cfg.Store, d.srv.cfg.Bus
	var seen []store.UID
	for i, u := range d.uids {
		if d.seen.has(i) && !(expunge && d.deleted.has(i)) {
			seen = append(seen, u)
		}
	}
	if len(seen) > 0 {
		_, _, changes, err := st.StoreFlags(ctx, d.mailboxID, seen, store.FlagsAdd, store.Flags{System: store.FlagSeen}, 0)
		if err != nil {
			return err
		}
		publish(bus, changes)
		d.seen.clear()
		d.seenCount = 0
	}
	if !expunge || d.deletedCount == 0 {
		return nil
	}
	del := make([]store.UID, 0, d.deletedCount)
	for i, u := range d.uids {
		if d.deleted.has(i) {
			del = append(del, u)
		}
	}
	_, changes, err := st.Expunge(ctx, d.mailboxID, del)
	if err != nil {
		return err
	}
	publish(bus, changes)
	return nil
}

func publish(bus *notify.Bus, changes []store.Change) {
	if bus != nil && len(changes) > 0 {
		bus.Publish(changes)
	}
}

// bitset is one bit per message: 10,000 DELEs cost 1,250 bytes.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) clear()         { clear(b) }
