package imex

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"barid/internal/deliver"
	"barid/internal/store"
)

// Message is one source message.
type Message struct {
	// UID is the message's UID at the source; 0 when it has none.
	UID   store.UID
	Flags store.Flags
	// Date is the internal date; zero means now.
	Date time.Time
	// Size is the expected size in bytes, for the progress line (0:
	// unknown).
	Size int64
	// Open returns the message's bytes and, when Date is zero, may
	// return the internal date (a Maildir file's mtime). It is called by
	// one worker, once.
	Open func() (io.ReadCloser, time.Time, error)
	// Label names the message in warnings (a file name, a line number).
	Label string
}

// Folder is one source mailbox.
type Folder struct {
	// Name is the barid name ("/" separated, "INBOX" for the inbox).
	Name string
	// UIDValidity and UIDNext of the source; 0 when it has none, and
	// then the messages' UIDs are ignored.
	UIDValidity uint32
	UIDNext     store.UID
	// Messages calls yield for each message; with a UIDValidity, in
	// ascending UID order. It stops when yield returns an error and
	// returns that error. When the UIDs are kept, every UID below floor
	// is already imported and the source may leave those out (0: it
	// must yield every message).
	Messages func(floor store.UID, yield func(*Message) error) error
}

// Result is what importing one folder did.
type Result struct {
	Mailbox     string `json:"mailbox"`
	UIDValidity uint32 `json:"uidvalidity"`
	// UIDsKept reports whether the source's UIDs and UIDVALIDITY were
	// kept (else the messages got new UIDs and were matched by content).
	UIDsKept bool `json:"uids_kept"`
	Imported int  `json:"imported"`
	Skipped  int  `json:"skipped"` // already in the target (an earlier run)
	// FlagsUpdated counts the messages of an earlier run whose flags
	// changed at the source since and were updated (the source wins).
	FlagsUpdated int `json:"flags_updated"`
	Failed       int `json:"failed"` // unreadable; see the warnings
}

// Importer imports folders into one account.
type Importer struct {
	Store   store.Store
	Deliver *deliver.Deliverer
	Account *store.Account
	Logger  *slog.Logger
	// Progress, when not nil, counts messages and bytes.
	Progress *Progress
	// BatchMessages and BatchBytes bound one transaction (defaults 1000
	// messages, 4 MiB of bytes held in memory: inline message bytes and
	// metadata; a message written to a blob file counts its metadata
	// only). With the writer's 16 MiB page cache, a transaction of 8 MiB
	// of inline messages spilled pages to the WAL before its COMMIT: 5 %
	// more pwrite and 40 % more pread calls than 4 MiB, and more CPU
	// (docs/benchmarks.md, "Import").
	BatchMessages int
	BatchBytes    int64
	// Workers analyse messages in parallel (default GOMAXPROCS, at
	// least 16).
	Workers int
	// MaxSize refuses (skips, with a warning) a message larger than
	// this many bytes (0: no limit).
	MaxSize int64
	// Publish, when not nil, receives the changes of every write the
	// import makes (mailboxes created, messages added, flags updated,
	// subscriptions), after it committed: a running server's change bus
	// (notify.Bus.Publish), so that its sessions see the mail arrive
	// (an import through the control socket, internal/app).
	Publish func([]store.Change)
	// UIDValidityChanged, when not nil, is called after the import gave
	// an existing, empty mailbox the source's UIDVALIDITY: a running
	// server ends the sessions that may have it selected, since a
	// UIDVALIDITY must not change under a session (RFC 9051 §2.3.1.1).
	UIDValidityChanged func(mb *store.Mailbox)
}

func (im *Importer) publish(ch []store.Change) {
	if im.Publish != nil && len(ch) > 0 {
		im.Publish(ch)
	}
}

func (im *Importer) log() *slog.Logger {
	if im.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return im.Logger
}

// EnsureMailbox returns the account's mailbox name, creating it and any
// missing parent (RFC 9051 §6.3.4 lets a server create parents).
func (im *Importer) EnsureMailbox(ctx context.Context, name string) (*store.Mailbox, bool, error) {
	mb, err := im.Store.Mailbox(ctx, im.Account.ID, name)
	if err == nil {
		return mb, false, nil
	}
	if !errors.Is(err, store.ErrNoMailbox) {
		return nil, false, err
	}
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		_, ch, err := im.Store.CreateMailbox(ctx, im.Account.ID, parent, "")
		if err != nil && !errors.Is(err, store.ErrMailboxExists) {
			return nil, false, fmt.Errorf("create %s: %w", parent, err)
		}
		im.publish(ch)
	}
	mb, ch, err := im.Store.CreateMailbox(ctx, im.Account.ID, name, "")
	if errors.Is(err, store.ErrMailboxExists) {
		mb, err = im.Store.Mailbox(ctx, im.Account.ID, name)
		return mb, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	im.publish(ch)
	return mb, true, nil
}

// job is one message on its way through the pipeline.
type job struct {
	m    *Message
	p    *deliver.Prepared
	err  error
	done chan struct{}
}

// ImportFolder imports one folder.
func (im *Importer) ImportFolder(ctx context.Context, f Folder) (*Result, error) {
	mb, created, err := im.EnsureMailbox(ctx, f.Name)
	if err != nil {
		return nil, err
	}
	res := &Result{Mailbox: mb.Name}
	keep := false
	if f.UIDValidity != 0 {
		if mb.UIDValidity != f.UIDValidity && mb.UIDNext == 1 {
			nmb, err := im.Store.SetUIDValidity(ctx, mb.ID, f.UIDValidity)
			switch {
			case err == nil:
				mb = nmb
				if !created && im.UIDValidityChanged != nil {
					im.UIDValidityChanged(mb)
				}
			case errors.Is(err, store.ErrCannot):
				im.log().Warn("import: the source's UIDVALIDITY cannot be kept; messages get new UIDs (clients re-download this folder)",
					"mailbox", mb.Name, "uidvalidity", f.UIDValidity, "err", err)
			default:
				return nil, err
			}
		}
		keep = mb.UIDValidity == f.UIDValidity
		if !keep {
			im.log().Warn("import: the mailbox exists with another UIDVALIDITY; messages get new UIDs and are matched by content",
				"mailbox", mb.Name, "target_uidvalidity", mb.UIDValidity, "source_uidvalidity", f.UIDValidity)
		}
	}
	res.UIDsKept, res.UIDValidity = keep, mb.UIDValidity

	var seen map[[32]byte]int32 // content mode: unclaimed target messages per digest
	floor := mb.UIDNext         // UID mode: everything below is done
	if !keep {
		if seen, err = im.digests(ctx, mb.ID); err != nil {
			return nil, err
		}
	}

	workers := im.Workers
	if workers <= 0 {
		// Reading files and fsyncing large blobs waits on the disk:
		// more workers than cores overlap those waits. With 4, the
		// committer of a 100,000-message import sat idle for more
		// than half of the run waiting for them; 16 kept it busy two
		// thirds of the time and finished 17 % sooner, 32 no sooner
		// than 16 (docs/benchmarks.md, "Import"). At most 4 jobs a
		// worker are in flight, each at most [storage]
		// inline_max_bytes in memory.
		workers = max(16, runtime.GOMAXPROCS(0))
	}
	batchMsgs, batchBytes := im.BatchMessages, im.BatchBytes
	if batchMsgs <= 0 {
		batchMsgs = 1000
	}
	if batchBytes <= 0 {
		batchBytes = 4 << 20
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *job)
	order := make(chan *job, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				j.p, j.err = im.prepare(ctx, j.m)
				close(j.done)
			}
		}()
	}
	// The producer walks the source; it stops at the first error.
	var srcErr error
	var below int        // UID mode: skipped by the producer
	var flagsUpdated int // of those, how many got the source's flags
	go func() {
		defer close(order)
		defer close(work)
		from := store.UID(0)
		if keep {
			from = floor
		}
		var older []store.UID // committed by an earlier run, flags to compare
		olderFlags := map[store.UID]store.Flags{}
		srcErr = f.Messages(from, func(m *Message) error {
			if keep && m.UID < floor {
				// Committed by an earlier run.
				if m.UID != 0 {
					below++
					im.Progress.Done(m.Size, true)
					if _, dup := olderFlags[m.UID]; !dup {
						older = append(older, m.UID)
						olderFlags[m.UID] = m.Flags
					}
					if len(older) >= 1000 {
						n, err := im.syncFlags(ctx, mb.ID, older, olderFlags)
						flagsUpdated += n
						older, olderFlags = older[:0], map[store.UID]store.Flags{}
						return err
					}
					return nil
				}
			}
			j := &job{m: m, done: make(chan struct{})}
			select {
			case order <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case work <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		})
		if srcErr == nil && len(older) > 0 {
			var n int
			n, srcErr = im.syncFlags(ctx, mb.ID, older, olderFlags)
			flagsUpdated += n
		}
	}()

	// A committer goroutine writes each full batch while the workers
	// prepare the next one (at most one batch waits for it).
	var batch []*job
	var bytes int64
	var commitErr error
	var committed int
	lastUID := store.UID(0)
	var commitTime time.Duration
	commit := func(batch []*job) error {
		t0 := time.Now()
		defer func() { commitTime += time.Since(t0) }()
		msgs := make([]store.NewMessage, len(batch))
		for i, j := range batch {
			msgs[i] = j.p.NewMessage
		}
		if keep {
			uids := make([]store.UID, len(batch))
			for i, j := range batch {
				uids[i] = j.m.UID
			}
			ch, err := im.Store.AppendMessagesAt(ctx, mb.ID, uids, msgs, 0)
			if err != nil {
				return fmt.Errorf("%s: commit UIDs %d-%d: %w", mb.Name, uids[0], uids[len(uids)-1], err)
			}
			im.publish(ch)
		} else {
			_, ch, err := im.Store.AppendMessages(ctx, mb.ID, msgs)
			if err != nil {
				return fmt.Errorf("%s: commit: %w", mb.Name, err)
			}
			im.publish(ch)
		}
		for _, j := range batch {
			im.Progress.Done(j.m.Size, false)
		}
		committed += len(batch)
		return nil
	}
	batches := make(chan []*job, 1)
	var cerrMu sync.Mutex
	var cerr error // the committer's first error
	committerDone := make(chan struct{})
	go func() {
		defer close(committerDone)
		for b := range batches {
			cerrMu.Lock()
			failed := cerr != nil
			cerrMu.Unlock()
			if failed {
				for _, j := range b {
					im.Deliver.Discard(ctx, j.p)
				}
				continue
			}
			if err := commit(b); err != nil {
				for _, j := range b {
					im.Deliver.Discard(ctx, j.p)
				}
				cerrMu.Lock()
				cerr = err
				cerrMu.Unlock()
				cancel()
			}
		}
	}()
	committerErr := func() error {
		cerrMu.Lock()
		defer cerrMu.Unlock()
		return cerr
	}
	for j := range order {
		if commitErr == nil {
			commitErr = committerErr()
		}
		if commitErr != nil {
			continue // drain
		}
		select {
		case <-j.done:
		case <-ctx.Done():
			commitErr = ctx.Err()
			continue
		}
		if j.err != nil {
			if ctx.Err() != nil {
				commitErr = ctx.Err()
				continue
			}
			im.log().Warn("import: message skipped", "mailbox", mb.Name, "message", j.m.Label, "err", j.err)
			res.Failed++
			im.Progress.Done(j.m.Size, false)
			continue
		}
		if keep {
			if j.m.UID == 0 || j.m.UID <= lastUID {
				im.Deliver.Discard(ctx, j.p)
				im.log().Warn("import: message without a usable UID skipped", "mailbox", mb.Name, "message", j.m.Label, "uid", j.m.UID)
				res.Failed++
				continue
			}
			lastUID = j.m.UID
		} else {
			var d [32]byte
			if _, err := hex.Decode(d[:], []byte(j.p.BlobID)); err == nil && seen[d] > 0 {
				seen[d]--
				im.Deliver.Discard(ctx, j.p)
				res.Skipped++
				im.Progress.Done(j.m.Size, true)
				continue
			}
		}
		batch = append(batch, j)
		bytes += heldBytes(j.p)
		if len(batch) >= batchMsgs || bytes >= batchBytes {
			batches <- batch
			batch, bytes = nil, 0
		}
	}
	wg.Wait()
	if commitErr == nil && len(batch) > 0 {
		batches <- batch
		batch = nil
	}
	close(batches)
	<-committerDone
	res.Imported = committed
	im.log().Debug("import: folder done", "mailbox", mb.Name, "imported", committed, "commit_time", commitTime)
	res.Skipped += below // the producer is done: order is closed
	res.FlagsUpdated = flagsUpdated
	if err := committerErr(); err != nil {
		commitErr = err
	}
	if commitErr == nil && srcErr != nil {
		commitErr = srcErr
	}
	if commitErr != nil {
		for _, j := range batch {
			if j.p != nil {
				im.Deliver.Discard(ctx, j.p)
			}
		}
		return res, commitErr
	}
	if keep && f.UIDNext > 0 {
		// The source's UIDNEXT, past messages it expunged.
		ch, err := im.Store.AppendMessagesAt(ctx, mb.ID, nil, nil, f.UIDNext)
		if err != nil {
			return res, err
		}
		im.publish(ch)
	}
	return res, nil
}

// heldBytes is what a prepared message holds in memory until its batch
// is committed: its inline bytes and its metadata. A message in a blob
// file holds only the latter, so counting its size (as the batches did
// before) cut the batches short: in a generated 100,000-message tree,
// the 7 % of messages over the inline limit carry 61 % of the bytes.
func heldBytes(p *deliver.Prepared) int64 {
	n := len(p.Inline) + len(p.Header) + len(p.Structure) + len(p.Envelope) +
		len(p.Subject) + len(p.From) + len(p.To) + len(p.Cc) + len(p.Bcc) + len(p.Preview) + len(p.MessageID)
	for _, r := range p.References {
		n += len(r)
	}
	return int64(n)
}

// prepare reads and analyses one message.
func (im *Importer) prepare(ctx context.Context, m *Message) (*deliver.Prepared, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, date, err := m.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if !m.Date.IsZero() {
		date = m.Date
	}
	if date.IsZero() {
		date = time.Now()
	}
	// The buffer of a message kept inline is allocated at its size.
	hint := m.Size
	if s, ok := r.(interface{ Size() int64 }); ok {
		hint = s.Size()
	}
	return im.Deliver.PrepareSized(ctx, r, hint, im.MaxSize, m.Flags, date)
}

// digests counts the target mailbox's messages by content digest (their
// blob IDs).
func (im *Importer) digests(ctx context.Context, mailboxID int64) (map[[32]byte]int32, error) {
	_, uids, err := im.Store.MessageUIDs(ctx, mailboxID)
	if err != nil {
		return nil, err
	}
	out := make(map[[32]byte]int32, len(uids))
	err = im.Store.FetchMessages(store.WithBulk(ctx), mailboxID, uids, store.FieldBasics, func(m *store.Message) error {
		var d [32]byte
		if _, err := hex.Decode(d[:], []byte(m.BlobID)); err == nil {
			out[d]++
		}
		return nil
	})
	return out, err
}

// syncFlags gives the listed messages (committed by an earlier run, UIDs
// ascending) the source's flags where they differ.
func (im *Importer) syncFlags(ctx context.Context, mailboxID int64, uids []store.UID, want map[store.UID]store.Flags) (int, error) {
	slices.Sort(uids)
	var changed []store.UID
	err := im.Store.FetchMessages(ctx, mailboxID, uids, store.FieldFlags, func(m *store.Message) error {
		if w, ok := want[m.UID]; ok && !m.Flags.Equal(store.FlagsFromNames(w.Names())) {
			changed = append(changed, m.UID)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, u := range changed {
		_, _, ch, err := im.Store.StoreFlags(ctx, mailboxID, []store.UID{u}, store.FlagsReplace, want[u], 0)
		if err != nil {
			return 0, err
		}
		im.publish(ch)
	}
	return len(changed), nil
}
