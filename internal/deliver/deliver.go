// Package deliver is the one ingest path for APPEND, LMTP, the deliver
// command and import: spool the bytes into the blob store while parsing the
// MIME structure in the same pass, make the blob durable, commit one
// metadata transaction, then publish the changes on the bus.
//
// Order of writes (docs/architecture.md, "Durability rules"): blob fsync + rename + directory
// fsync, then the transaction, then the caller's acknowledgement. A crash
// between the two leaves an orphan blob that the integrity sweep removes.
//
// Small messages (up to Deliverer.InlineMax, [storage] inline_max_bytes)
// skip the blob file: their bytes travel in store.NewMessage.Inline and
// the store writes them in the same transaction as the message row, so
// one group-committed WAL fsync makes them durable (docs/delivery.md).
package deliver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"barid/internal/blob"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/header"
	"barid/internal/mail/mime"
	"barid/internal/notify"
	"barid/internal/store"
)

// Deliverer runs the ingest pipeline.
type Deliverer struct {
	Store  store.Store
	Blobs  blob.Store
	Bus    *notify.Bus
	Limits mime.Limits
	Logger *slog.Logger
	// InlineMax is the size up to which a message is not written to
	// Blobs but handed to the store in store.NewMessage.Inline, to be
	// kept in the transaction that adds its row ([storage]
	// inline_max_bytes). 0 disables it, as does a Store without
	// OpenInline (the method that reads such bytes back).
	InlineMax int64

	prepared atomic.Int64 // messages received (Prepared)
}

// Prepared counts the messages received so far (APPEND, LMTP, deliver),
// stored or not. The app watches it, with logins, to hand the heap a
// burst of work left behind back to the operating system.
func (d *Deliverer) Prepared() int64 { return d.prepared.Load() }

// inlineStore is the part of a store that can keep message bytes in its
// own transactions (store/sqlite).
type inlineStore interface {
	OpenInline(ctx context.Context, id string) ([]byte, bool, error)
}

// inlineLimit is the effective InlineMax.
func (d *Deliverer) inlineLimit() int64 {
	if d.InlineMax <= 0 {
		return 0
	}
	if _, ok := d.Store.(inlineStore); !ok {
		return 0
	}
	return d.InlineMax
}

// Prepared is a message whose bytes are durable and whose metadata is
// computed, ready to be committed into a mailbox.
type Prepared struct {
	store.NewMessage
	// stamp is what the blob store's Commit returned (blob.Stamped),
	// for Discard; zero for inline bytes.
	stamp time.Time
}

// Discard takes back the blob files of prepared messages that will not
// be stored after all (an APPEND that failed after its literal was read,
// a MULTIAPPEND cut off half way, an LMTP transfer that no recipient
// took), so they do not wait for the periodic sweep. A blob is kept if a
// stored message references it or if another delivery of the same bytes
// has committed it since (blob.Releaser checks both under its lock), so
// Discard is safe to call after a failed Commit too. It runs even when
// ctx is cancelled (a client's disconnect is the common cause).
func (d *Deliverer) Discard(ctx context.Context, ps ...*Prepared) {
	r, ok := d.Blobs.(blob.Releaser)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, p := range ps {
		if p == nil || p.Inline != nil || p.stamp.IsZero() {
			continue
		}
		id := p.BlobID
		// BlobInUse: a message with the same bytes may have been
		// expunged lazily a moment ago ([storage] sync_index).
		_, err := r.Release(ctx, id, p.stamp, func(ctx context.Context) (bool, error) {
			return store.BlobInUse(ctx, d.Store, id)
		})
		if err != nil && d.Logger != nil {
			d.Logger.Warn("discarding an unused blob failed; the sweep will remove it", "blob", id, "err", err)
		}
		p.stamp = time.Time{}
	}
}

// ErrTooBig is returned when the message exceeds the size given to Prepare.
var ErrTooBig = errors.New("message exceeds literal_size limit")

// Prepare streams r into a new blob and analyses it in the same pass. If
// maxSize > 0 and r yields more bytes, Prepare fails with ErrTooBig.
//
// A message of at most InlineMax bytes is read into memory instead (never
// more than InlineMax+1 bytes are buffered: past that, the bytes read so
// far are the start of the blob stream) and handed to the store with the
// metadata, so it becomes durable with the one group-committed
// transaction and no file is written. A larger message is never held
// whole in memory.
func (d *Deliverer) Prepare(ctx context.Context, r io.Reader, maxSize int64, flags store.Flags, internalDate time.Time) (*Prepared, error) {
	return d.PrepareSized(ctx, r, 0, maxSize, flags, internalDate)
}

// PrepareSized is Prepare for a message whose size the caller expects
// (a file's size; 0: unknown): the buffer of a message kept inline is
// allocated at that size once, instead of growing from 16 KiB by
// doubling (in an import, that growth was two fifths of the bytes
// allocated, and the garbage collector's work with them). The hint only
// sizes the buffer: the message is what r yields.
func (d *Deliverer) PrepareSized(ctx context.Context, r io.Reader, sizeHint, maxSize int64, flags store.Flags, internalDate time.Time) (*Prepared, error) {
	src, internalDate := d.receive(r, maxSize, internalDate)
	if lim := d.inlineLimit(); lim > 0 {
		buf, whole, err := readUpTo(src, lim, sizeHint)
		if err != nil {
			return nil, err
		}
		if whole {
			if maxSize > 0 && int64(len(buf)) > maxSize {
				return nil, ErrTooBig
			}
			return d.prepareInline(buf, flags, internalDate)
		}
		return d.prepareBlob(ctx, io.MultiReader(bytes.NewReader(buf), src), maxSize, flags, internalDate, buf)
	}
	return d.prepareBlob(ctx, src, maxSize, flags, internalDate, nil)
}

// readUpTo reads r to its end if it yields at most limit bytes (whole
// true), else returns the first limit+1 bytes read (whole false). The
// buffer grows with what arrives, so a small message costs a small
// buffer; with a size hint (> 0) it starts at hint+1 bytes (the extra
// byte lets the read that finds the end need no growth).
func readUpTo(r io.Reader, limit, hint int64) (buf []byte, whole bool, err error) {
	most := limit + 1
	start := int64(16 << 10)
	if hint > 0 {
		start = hint + 1
	}
	buf = make([]byte, 0, min(most, start))
	for {
		if int64(len(buf)) >= most {
			return buf, false, nil
		}
		if len(buf) == cap(buf) {
			// Exact sizes (not append's rounded-up classes): the
			// buffer never exceeds limit+1 bytes.
			nb := make([]byte, len(buf), min(2*int64(cap(buf)), most))
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, int64(len(buf)) <= limit, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

// PrepareFile is Prepare without the inline path: the bytes always go to
// the blob store, and nothing but the metadata stays in memory. A
// MULTIAPPEND uses it once the messages it holds for its one commit
// reach their memory budget.
func (d *Deliverer) PrepareFile(ctx context.Context, r io.Reader, maxSize int64, flags store.Flags, internalDate time.Time) (*Prepared, error) {
	src, internalDate := d.receive(r, maxSize, internalDate)
	return d.prepareBlob(ctx, src, maxSize, flags, internalDate, nil)
}

// receive starts Prepare and PrepareFile: it counts the message, bounds
// r at maxSize+1 bytes (so that a larger message is noticed) and makes a
// zero internalDate now.
func (d *Deliverer) receive(r io.Reader, maxSize int64, internalDate time.Time) (io.Reader, time.Time) {
	d.prepared.Add(1)
	if internalDate.IsZero() {
		internalDate = time.Now()
	}
	if maxSize > 0 {
		r = io.LimitReader(r, maxSize+1)
	}
	return r, internalDate
}

// prepareInline analyses a message held in memory; its blob ID is the
// SHA-256 of the bytes, as blob/fs would name the file.
func (d *Deliverer) prepareInline(msg []byte, flags store.Flags, internalDate time.Time) (*Prepared, error) {
	a, err := msgdata.AnalyzeBytes(msg, d.Limits)
	if err != nil {
		return nil, fmt.Errorf("analyse message: %w", err)
	}
	sum := sha256.Sum256(msg)
	p := d.analysed(a, hex.EncodeToString(sum[:]), flags, internalDate)
	p.Inline = msg
	p.setPreview(a.Root, bytes.NewReader(msg))
	return p, nil
}

// prepareBlob streams src into a new blob file while analysing it: the
// parser pulls the bytes through a spool that writes each chunk to the
// blob (hashing it) as it passes, so the message is read once, in one
// goroutine, with no copy between the two. (An io.Pipe to an analyser
// goroutine cost a handoff per 32 KiB and a copy; measured in
// docs/delivery.md "Throughput".) prefix, when not nil, is the start of
// the message (what Prepare read before it knew the message was too
// large to be inline), for the preview.
func (d *Deliverer) prepareBlob(ctx context.Context, src io.Reader, maxSize int64, flags store.Flags, internalDate time.Time, prefix []byte) (*Prepared, error) {
	w, err := d.Blobs.Create(ctx)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	sp := &spool{src: src, w: w}
	a, aerr := msgdata.Analyze(sp, d.Limits)
	if aerr == nil && sp.err == nil {
		// The parser reads to the end; this is only a safeguard.
		_, aerr = io.Copy(io.Discard, sp)
	}
	if sp.err == nil && aerr != nil {
		// The parser gave up: read the rest of the message anyway, so
		// the protocol session stays in step (LMTP's DATA, a literal).
		_, sp.err = io.Copy(io.Discard, src)
	}
	if sp.err == nil && maxSize > 0 && sp.n > maxSize {
		sp.err = ErrTooBig
	}
	if sp.err != nil {
		w.Abort()
		return nil, sp.err
	}
	if aerr != nil {
		w.Abort()
		return nil, fmt.Errorf("analyse message: %w", aerr)
	}
	id, _, err := w.Commit(ctx)
	if err != nil {
		return nil, fmt.Errorf("commit blob: %w", err)
	}
	p := d.analysed(a, id, flags, internalDate)
	if st, ok := w.(blob.Stamped); ok {
		p.stamp = st.Stamp()
	}
	// The preview reads the first text part back (a bounded range):
	// from the prefix still in memory when the range lies in it (the
	// common case: a short text part before large attachments; this
	// saved reopening the blob, through the blob store's lookups, for
	// every large message of an import), else from the blob. If that
	// fails, FETCH PREVIEW computes it later.
	if pa := (&prefixAt{b: prefix}); prefix != nil && a.Root != nil {
		if pv, err := msgdata.Preview(a.Root, pa); err == nil && !pa.short {
			p.Preview, p.HasPreview = pv, true
			return p, nil
		}
	}
	if br, err := d.Blobs.Open(ctx, id); err == nil {
		p.setPreview(a.Root, br)
		br.Close()
	}
	return p, nil
}

// prefixAt reads the start of a message that continues past b: a read
// that reaches b's end sets short (what was read is not the whole range
// asked for), and the caller reads from the whole message instead.
type prefixAt struct {
	b     []byte
	short bool
}

func (r *prefixAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("deliver: negative offset")
	}
	if off+int64(len(p)) > int64(len(r.b)) {
		r.short = true
		return 0, io.ErrUnexpectedEOF
	}
	return copy(p, r.b[off:]), nil
}

// setPreview computes the RFC 8970 preview at ingest (stored with the
// message record, so FETCH PREVIEW never reads the message).
func (p *Prepared) setPreview(root *mime.Part, r io.ReaderAt) {
	if root == nil {
		return
	}
	if pv, err := msgdata.Preview(root, r); err == nil {
		p.Preview, p.HasPreview = pv, true
	}
}

// analysed is prepared, reporting a MIME limit the message reached: it
// is stored all the same (past the limit the rest is one part, as in
// Dovecot), and the log line names the limit (config key in [limits]).
func (d *Deliverer) analysed(a *msgdata.Analysis, id string, flags store.Flags, internalDate time.Time) *Prepared {
	if a.LimitReached != "" && d.Logger != nil {
		d.Logger.Warn("message reached a MIME limit; the rest of it is one part",
			"limit", a.LimitReached, "blob", id, "size", a.RawSize)
	}
	return prepared(a, id, flags, internalDate)
}

// spool is an io.TeeReader that keeps the source's and the blob's
// errors apart from the parser's.
type spool struct {
	src io.Reader
	w   io.Writer
	n   int64
	err error // first error of src (other than io.EOF) or of w
}

func (s *spool) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.src.Read(p)
	if n > 0 {
		if _, werr := s.w.Write(p[:n]); werr != nil {
			s.err = werr
			return 0, werr
		}
		s.n += int64(n)
	}
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// prepared maps an analysis onto the message record.
func prepared(a *msgdata.Analysis, id string, flags store.Flags, internalDate time.Time) *Prepared {
	// RFC 8474 THREADID: what the store threads the message by
	// (store/thread.go), read here, outside the store's transaction.
	msgID, refs := header.ThreadFields(a.Header)
	return &Prepared{NewMessage: store.NewMessage{
		MessageID:  msgID,
		References: refs,
		Flags:      flags,
		BlobID:     id,
		// RFC822.SIZE counts every line end as CRLF, as Dovecot does
		// (and as BODY[] is sent).
		Size:         a.Size,
		InternalDate: internalDate,
		Header:       a.Header,
		Structure:    a.Structure,
		Envelope:     a.Envelope,
		Subject:      a.Subject,
		From:         a.From,
		To:           a.To,
		Cc:           a.Cc,
		Bcc:          a.Bcc,
		SentDate:     a.SentDate,
	}}
}

// Commit appends prepared messages to a mailbox in one transaction and
// publishes the changes. When it returns nil the messages are durable.
func (d *Deliverer) Commit(ctx context.Context, mailboxID int64, msgs []*Prepared) ([]store.UID, error) {
	nm := make([]store.NewMessage, len(msgs))
	for i, m := range msgs {
		nm[i] = m.NewMessage
	}
	uids, changes, err := d.Store.AppendMessages(ctx, mailboxID, nm)
	if err != nil {
		return nil, err
	}
	d.Bus.PublishFrom(notify.Origin(ctx), changes)
	return uids, nil
}

// Replace commits p to mailboxID and expunges uid from srcMailboxID in
// one transaction (RFC 8508 REPLACE), then publishes the changes.
func (d *Deliverer) Replace(ctx context.Context, srcMailboxID int64, uid store.UID, mailboxID int64, p *Prepared) (store.UID, error) {
	u, changes, err := d.Store.ReplaceMessage(ctx, srcMailboxID, uid, mailboxID, p.NewMessage)
	if err != nil {
		return 0, err
	}
	d.Bus.Publish(changes)
	return u, nil
}

// Deliver is Prepare followed by Commit for one message.
func (d *Deliverer) Deliver(ctx context.Context, mailboxID int64, r io.Reader, maxSize int64, flags store.Flags, internalDate time.Time) (store.UID, error) {
	p, err := d.Prepare(ctx, r, maxSize, flags, internalDate)
	if err != nil {
		return 0, err
	}
	uids, err := d.Commit(ctx, mailboxID, []*Prepared{p})
	if err != nil {
		return 0, err
	}
	return uids[0], nil
}

// CommitEach appends one prepared message to several mailboxes, with one
// transaction per mailbox, so a failure (over quota, a mailbox deleted
// meanwhile) affects only its own mailbox. All copies share the one blob
// (docs/architecture.md: a copy shares its blob). The transactions are issued
// concurrently so a store with group commit (store/sqlite) makes them
// durable with one sync. It returns one UID and one error per mailbox,
// in the order given; each successful mailbox's changes are published.
// When an error is nil that mailbox's copy is durable.
func (d *Deliverer) CommitEach(ctx context.Context, p *Prepared, mailboxIDs []int64) ([]store.UID, []error) {
	uids := make([]store.UID, len(mailboxIDs))
	errs := make([]error, len(mailboxIDs))
	one := func(i int) {
		u, err := d.Commit(ctx, mailboxIDs[i], []*Prepared{p})
		if err != nil {
			errs[i] = err
			return
		}
		uids[i] = u[0]
	}
	if len(mailboxIDs) == 1 {
		one(0)
		return uids, errs
	}
	var wg sync.WaitGroup
	for i := range mailboxIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			one(i)
		}()
	}
	wg.Wait()
	return uids, errs
}
