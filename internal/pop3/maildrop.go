package pop3

import (
	"context"
	"errors"
	"fmt"
	"math"

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
	// sizes are the RFC822.SIZEs (CRLF line ends, no stuffing), 4
	// bytes a message where int64s took 8: a maildrop of 300 messages
	// costs an idle session 1.2 KiB less, about what an IMAP session
	// holds (docs/pop3.md). A message of 4 GiB or more (literal_size
	// has no ceiling) keeps its size in large.
	sizes []uint32
	large map[int]int64 // message index -> size, for sizes >= 4 GiB
	total int64

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
	// window index from up to ahead. They live in arena, a pooled
	// buffer of readAheadBytes borrowed for the read-ahead and given
	// back once every message in it was sent (release).
	data        [][]byte
	from, ahead int
	arena       []byte
	left        int      // messages in data not yet sent
	ids         []string // scratch: the blob IDs asked for
	// inFiles marks the messages of the read-ahead that the inline
	// store said it does not have: their bytes are in the file store,
	// opened without asking the inline store again. inline is the
	// scratch of the query: the messages it found.
	inFiles, inline []bool
}

// readAheadBytes bounds the message bytes a session reads ahead of its
// RETRs in one query (prefetch): about 8 typical messages, at most
// this much memory per session, given back as they are sent.
const readAheadBytes = 128 << 10

// inlineBatch is the blob store's batch read of inline message bytes
// (blob/tiered over store/sqlite: one query for several messages; the
// bytes fn gets are valid only until it returns).
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
		d.dropAhead()
		w.data = w.data[:0]
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
	d.dropAhead()
}

// dropAhead drops the bytes read ahead and gives back their arena.
// Nothing may use them any more: callers run between responses.
func (d *maildrop) dropAhead() {
	w := &d.win
	clear(w.data)
	clear(w.inFiles)
	clear(w.inline)
	w.from, w.ahead, w.left = 0, 0, 0
	if w.arena != nil {
		putArena(w.arena)
		w.arena = nil
	}
}

// release gives back the arena once every message read ahead was sent:
// an idle session keeps no read-ahead buffer. It runs after a response
// was written (flush), when no message bytes are in use.
func (d *maildrop) release() {
	if d.win.arena != nil && d.win.left == 0 {
		d.dropAhead()
	}
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
// (kept in a file, too large to read ahead, or sent once already);
// inFile then says that the read-ahead found it is not inline. n must
// be in the window (record returned it). The bytes are valid until the
// next call.
func (d *maildrop) prefetched(ctx context.Context, n int) (data []byte, inFile bool, err error) {
	batch, ok := d.srv.cfg.Blobs.(inlineBatch)
	if !ok || d.noBatch || d.sub == nil {
		return nil, false, nil
	}
	w := &d.win
	i := n - w.first
	if i < w.from || i >= w.ahead {
		// Not asked for yet: read ahead from message n on.
		if w.data == nil {
			w.data = make([][]byte, 0, windowSize)
			w.inFiles = make([]bool, 0, windowSize)
			w.inline = make([]bool, 0, windowSize)
		}
		d.dropAhead()
		w.data = w.data[:len(w.blobs)]
		w.inFiles = w.inFiles[:len(w.blobs)]
		w.inline = w.inline[:len(w.blobs)]
		ids := w.ids[:0]
		var total int64
		end := i
		for ; end < len(w.blobs); end++ {
			if w.blobs[end] == "" {
				continue // expunged
			}
			// A message too large to read ahead is asked for too: the
			// answer tells whether it is inline (then it is read when
			// sent) or in the file store, opened there directly. With
			// the default inline_max_bytes it cannot be inline, and
			// costs the query nothing.
			if sz := d.size(w.first + end); sz <= readAheadBytes {
				if total+sz > readAheadBytes && end > i {
					break
				}
				total += sz
			}
			ids = append(ids, w.blobs[end])
		}
		w.ids = ids
		w.from, w.ahead = i, end
		w.arena = getArena()
		err := batch.OpenInlineMany(store.WithBulk(ctx), ids, func(id string, data []byte) error {
			// data is the store's until we return: copy it to the
			// arena. One that does not fit (too large to read ahead,
			// or larger than its size said: line ends not CRLF) is
			// not kept: it is read again when sent.
			var own []byte
			if len(w.arena)+len(data) <= cap(w.arena) {
				k := len(w.arena)
				w.arena = append(w.arena, data...)
				own = w.arena[k:len(w.arena):len(w.arena)]
			}
			// The same bytes may be several messages (one row).
			for j := i; j < end; j++ {
				if w.blobs[j] == id {
					w.inline[j] = true
					if own != nil && w.data[j] == nil {
						w.data[j] = own
						w.left++
					}
				}
			}
			return nil
		})
		if errors.Is(err, errors.ErrUnsupported) {
			d.noBatch = true
			d.dropAhead()
			return nil, false, nil
		}
		if err != nil {
			d.dropAhead()
			return nil, false, err
		}
		for j := i; j < end; j++ {
			w.inFiles[j] = w.blobs[j] != "" && !w.inline[j]
		}
	}
	if i >= len(w.data) {
		return nil, false, nil
	}
	data = w.data[i]
	if data != nil {
		w.data[i] = nil // sent once
		w.left--
	}
	return data, w.inFiles[i], nil
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
	d.sizes = make([]uint32, len(uids))
	i := 0
	err = s.cfg.Store.FetchMessages(ctx, mb.ID, uids, store.FieldSize, func(m *store.Message) error {
		// FetchMessages skips messages expunged since MessageUIDs:
		// keep the numbering, and let RETR say "expunged".
		for i < len(uids) && uids[i] != m.UID {
			i++
		}
		if i < len(uids) {
			d.setSize(i, m.Size)
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
	d.dropAhead()
	if d.sub != nil {
		d.sub.Close()
	}
	d.srv.unlock(d.mailboxID)
}

// count is the number of messages not marked deleted (STAT).
func (d *maildrop) count() int { return len(d.uids) - d.deletedCount }

// octets is the size of the messages not marked deleted (STAT).
func (d *maildrop) octets() int64 { return d.total - d.deletedSize }

// size is message n's size (LIST, RFC 1939 §5).
func (d *maildrop) size(n int) int64 {
	if d.large != nil {
		if sz, ok := d.large[n-1]; ok {
			return sz
		}
	}
	return int64(d.sizes[n-1])
}

func (d *maildrop) setSize(i int, sz int64) {
	if sz > math.MaxUint32 {
		if d.large == nil {
			d.large = map[int]int64{}
		}
		d.large[i] = sz
		return
	}
	d.sizes[i] = uint32(sz)
}

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
	d.deletedSize += d.size(n)
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
