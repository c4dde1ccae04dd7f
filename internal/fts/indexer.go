package fts

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"barid/internal/blob"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
	"barid/internal/store"
)

// Store is what the indexer needs from the metadata store.
type Store interface {
	store.TextIndexer
	FetchMessages(ctx context.Context, mailboxID int64, uids []store.UID, fields store.Fields, fn func(*store.Message) error) error
}

// DefaultDuty is the share of wall time the background indexer may use.
// Unpaced, it slowed a 10,000-message MULTIAPPEND from 776 to 204 msg/s
// on a loaded 2-core machine (docs/benchmarks.md).
const DefaultDuty = 0.25

// DefaultBusyDuty is the share while messages are arriving (Busy).
const DefaultBusyDuty = 0.05

// DefaultBatch is how many contents one index transaction holds: small
// enough that the SQLite writer, which deliveries share, is never held
// for long (about 2 ms a content on the bench corpus, docs/search.md).
const DefaultBatch = 32

// DefaultBatchBytes bounds the text of one index transaction too: a
// batch stops taking contents once their text reaches it (it always
// takes one). DefaultBatch contents of 1 MB held the SQLite writer for
// 4-5 s of trigram tokenizing on the loaded 2-core machine, and every
// LMTP delivery waited behind it (goroutine dumps during a 1 MB run at
// 16 clients: all 16 sessions in Store.writeReq while the writer ran
// IndexText; docs/benchmarks.md, "Delivery at the disk's limit").
// 256 KiB is DefaultBatch contents of the bench corpus' typical size.
const DefaultBatchBytes = 256 << 10

// DefaultLease is how long a batch's claim on its contents lasts
// (store.TextIndexer ClaimTextPending): long enough for any batch to be
// extracted and indexed (a batch of DefaultBatchBytes takes well under a
// second), short enough that the contents a node claimed before it died
// are indexed by another node soon after; until then they are pending
// and searched by scanning, so a lapse costs time, never answers.
const DefaultLease = 2 * time.Minute

// errBatchFull stops a batch's fetch once DefaultBatchBytes is reached.
var errBatchFull = errors.New("fts: batch full")

// Indexer fills the full-text index from the pending list.
type Indexer struct {
	Store Store
	Blobs blob.Store
	Log   *slog.Logger
	// Batch is the number of contents per transaction (DefaultBatch if
	// 0).
	Batch int
	// BatchBytes is the text per transaction after which a batch takes
	// no more contents (DefaultBatchBytes if 0); the rest stay pending
	// for the next batch.
	BatchBytes int
	// Duty is the share of wall time Run spends indexing while there is
	// a backlog (DefaultDuty if 0): after a batch that took d it rests
	// d*(1-Duty)/Duty, so that deliveries, which share the CPU and the
	// SQLite writer with it, keep most of both. Pending messages are
	// scanned meanwhile, so a backlog costs search time, never answers.
	Duty float64
	// Busy, if set, reports whether messages are arriving (the app: the
	// server received one since the last call). After a batch with Busy
	// true, Run rests as BusyDuty asks instead of Duty, so a delivery
	// burst keeps the CPU and the writer; the backlog is indexed after
	// it (docs/benchmarks.md, "Session 8").
	Busy func() bool
	// BusyDuty is the share of wall time while Busy (DefaultBusyDuty if
	// 0).
	BusyDuty float64
	// Owner names this indexer's claims on pending contents, so that
	// indexers sharing the store (nodes on one database, barid index
	// beside a server) never extract the same content; New makes one
	// unique to the process and indexer.
	Owner string
	// Lease is how long a batch's claim lasts (DefaultLease if 0).
	Lease time.Duration
	// Now is the clock of the claims (time.Now if nil).
	Now func() time.Time

	kick chan struct{}
}

// newOwner returns a claim owner unique to this process and call: the
// host name, the process id and random bytes.
func newOwner() string {
	host, _ := os.Hostname()
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// New returns an indexer.
func New(st Store, blobs blob.Store, log *slog.Logger) *Indexer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Indexer{Store: st, Blobs: blobs, Log: log, Owner: newOwner(), kick: make(chan struct{}, 1)}
}

// Kick asks a running Run loop to look at the pending list now (after a
// delivery). It never blocks.
func (ix *Indexer) Kick() {
	select {
	case ix.kick <- struct{}{}:
	default:
	}
}

// Step indexes one batch of pending contents of accountID (0: all) and
// returns how many it indexed; 0 when nothing is pending (or nothing of
// the batch could be indexed).
func (ix *Indexer) Step(ctx context.Context, accountID int64) (int, error) {
	batch := ix.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	lease := ix.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	now := time.Now
	if ix.Now != nil {
		now = ix.Now
	}
	// A claim, not a read: another indexer on the same store skips
	// these contents until IndexText takes them off the list or the
	// lease lapses. Those the batch leaves over (BatchBytes) stay
	// claimed by this owner and come back in its next Step.
	pend, err := ix.Store.ClaimTextPending(ctx, ix.Owner, now(), lease, accountID, batch)
	if err != nil || len(pend) == 0 {
		return 0, err
	}
	byBox := map[int64][]store.UID{}
	blobOf := map[int64]map[store.UID]string{}
	for _, p := range pend {
		byBox[p.MailboxID] = append(byBox[p.MailboxID], p.UID)
		if blobOf[p.MailboxID] == nil {
			blobOf[p.MailboxID] = map[store.UID]string{}
		}
		blobOf[p.MailboxID][p.UID] = p.BlobID
	}
	budget := ix.BatchBytes
	if budget <= 0 {
		budget = DefaultBatchBytes
	}
	var docs []store.TextDoc
	size := 0
	for box, uids := range byBox {
		if size >= budget {
			break
		}
		slices.Sort(uids)
		err := ix.Store.FetchMessages(ctx, box, uids, store.FieldBasics|store.FieldHeader|store.FieldStructure, func(m *store.Message) error {
			id := blobOf[box][m.UID]
			if id == "" || id != m.BlobID {
				return nil
			}
			head, body, err := ix.text(ctx, m)
			if err != nil {
				return err
			}
			docs = append(docs, store.TextDoc{BlobID: id, Head: head, Body: body})
			if size += len(head) + len(body); size >= budget {
				return errBatchFull
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNoMailbox) && !errors.Is(err, errBatchFull) {
			return 0, err
		}
	}
	if len(docs) == 0 {
		// Every message of the batch went away meanwhile; the triggers
		// took their contents off the list unless another message
		// holds them, which a later run finds. Returning 0 ends a
		// CatchUp rather than let it spin on the same batch.
		return 0, nil
	}
	if err := ix.Store.IndexText(ctx, docs); err != nil {
		return 0, err
	}
	return len(docs), nil
}

// text computes a message's index text. A message whose structure
// cannot be read or whose bytes are gone matches no BODY or TEXT search
// (the scan gets an error and counts it as no match), so its text is
// empty.
func (ix *Indexer) text(ctx context.Context, m *store.Message) (head, body string, err error) {
	root, err := mime.Unmarshal(m.Structure)
	if err != nil {
		ix.Log.Warn("fts: unreadable structure, indexed as empty", "blob", m.BlobID, "err", err)
		return "", "", nil
	}
	r, err := ix.Blobs.Open(ctx, m.BlobID)
	if errors.Is(err, blob.ErrNotFound) {
		ix.Log.Warn("fts: message bytes missing, indexed as empty", "blob", m.BlobID)
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	defer r.Close()
	head, body, err = msgdata.TextSplit(root, m.Header, r)
	if err != nil {
		return "", "", err
	}
	return strings.ToValidUTF8(head, "\uFFFD"), strings.ToValidUTF8(body, "\uFFFD"), nil
}

// CatchUp indexes every pending content of accountID (0: all), calling
// progress after each batch with the number done so far. It is
// resumable: what it indexed stays indexed if it is interrupted.
func (ix *Indexer) CatchUp(ctx context.Context, accountID int64, progress func(done int)) (int, error) {
	done := 0
	for {
		n, err := ix.Step(ctx, accountID)
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, ix.catchUpVocab(ctx, 1)
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
}

// Run indexes in the background until ctx ends: at once (the upgrade of
// a data folder without an index), after each Kick, and every interval
// in case a delivery came through another process (barid deliver, a
// second node). It also purges the entries of expunged contents.
func (ix *Indexer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	duty := ix.Duty
	if duty <= 0 || duty > 1 {
		duty = DefaultDuty
	}
	for {
		start := time.Now()
		n, err := ix.paced(ctx, duty)
		if err != nil && ctx.Err() == nil {
			ix.Log.Warn("fts: indexing failed, retrying later", "err", err)
		} else if n > 0 {
			ix.Log.Debug("fts: indexed", "contents", n, "took", time.Since(start))
		}
		if err := ix.catchUpVocab(ctx, duty); err != nil && ctx.Err() == nil {
			ix.Log.Warn("fts: vocabulary catch-up failed, retrying later", "err", err)
		}
		if _, err := ix.Store.PurgeTextIndex(ctx); err != nil && ctx.Err() == nil {
			ix.Log.Warn("fts: purge failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ix.kick:
		case <-t.C:
		}
	}
}

// paced indexes everything pending, resting between batches so that
// indexing takes at most duty of the wall time.
func (ix *Indexer) paced(ctx context.Context, duty float64) (int, error) {
	done := 0
	for {
		t0 := time.Now()
		n, err := ix.Step(ctx, 0)
		if err != nil || n == 0 {
			return done, err
		}
		done += n
		rest := ix.rest(time.Since(t0), duty)
		select {
		case <-ctx.Done():
			return done, ctx.Err()
		case <-time.After(rest):
		}
	}
}

// rest is how long to rest after a batch that took d: as duty (or
// BusyDuty while Busy) asks, d*(1-duty)/duty.
func (ix *Indexer) rest(d time.Duration, duty float64) time.Duration {
	if ix.Busy != nil && ix.Busy() {
		duty = ix.BusyDuty
		if duty <= 0 || duty > 1 {
			duty = DefaultBusyDuty
		}
	}
	return time.Duration(float64(d) * (1 - duty) / duty)
}

// TextOf computes the index text of a raw message, as the indexer does
// for a stored one; for tests and measurements.
func TextOf(raw []byte) (string, error) {
	root, err := mime.Parse(bytes.NewReader(raw), mime.Limits{})
	if err != nil {
		return "", err
	}
	var r io.ReaderAt = bytes.NewReader(raw)
	return msgdata.Text(root, raw[:min(int64(len(raw)), root.HeaderSize)], r)
}

// catchUpVocab builds the vocabulary of contents indexed before the store
// kept one (store.TextVocabBuilder), paced like indexing; it returns when
// nothing is left. The store only uses the vocabulary once it is
// complete, so every search stays exact meanwhile.
func (ix *Indexer) catchUpVocab(ctx context.Context, duty float64) error {
	vb, ok := ix.Store.(store.TextVocabBuilder)
	if !ok {
		return nil
	}
	for {
		t0 := time.Now()
		more, err := vb.CatchUpVocab(ctx)
		if err != nil || !more {
			return err
		}
		if duty < 1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(ix.rest(time.Since(t0), duty)):
			}
		}
	}
}
