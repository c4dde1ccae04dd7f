package imex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"barid/internal/blob"
	"barid/internal/mail/header"
	"barid/internal/store"
)

// StoreCopier copies a whole store (barid store copy): every account
// with its secret, every mailbox with its UIDVALIDITY, UIDNEXT and
// HIGHESTMODSEQ, every message with its UID, MODSEQ, flags, internal
// date and bytes, subscriptions and special-use attributes, and the
// account data listed in CopyNotCopied's complement, so that IMAP
// clients keep their caches: RFC 9051 §2.3.1.1 (UIDs under an unchanged
// UIDVALIDITY) and RFC 7162 §3.1 (a cached HIGHESTMODSEQ stays valid).
//
// It is resumable and idempotent: a mailbox whose target already has
// the source's UIDNEXT, HIGHESTMODSEQ and message count is skipped; one
// copied half way continues from the target's UIDNEXT (the UIDs are
// the source's, so the target's UIDNEXT says where the copy stopped).
// Memory stays flat: messages go in batches, bytes are streamed blob by
// blob.
type StoreCopier struct {
	Src      store.Store
	SrcBlobs blob.Store // reads inline messages too (blob/tiered)
	// SrcInline tells the messages that Src keeps inline (in the
	// metadata database) from those in SrcBlobs; nil: none are.
	SrcInline interface {
		OpenInline(ctx context.Context, id string) ([]byte, bool, error)
	}
	Dst store.Store
	// DstFiles is the target's blob store proper (not tiered): bytes
	// of messages that do not go inline are written there.
	DstFiles blob.Store
	// DstInlineMax is the target's [storage] inline_max_bytes: a source
	// inline message up to this size stays inline; 0 puts every
	// message in DstFiles.
	DstInlineMax int64
	Progress     *Progress
	Logger       *slog.Logger
	// BatchMessages and BatchBytes bound one append transaction
	// (defaults 500 messages, 16 MiB).
	BatchMessages int
	BatchBytes    int64

	// boxes maps the copied mailboxes' source IDs to the target's, for
	// what is copied once every account is (private \Seen).
	boxes map[int64]int64
}

// ErrCopyConflict is returned when the target holds an account or a
// mailbox of the same name whose content is not the source's (another
// secret, another UIDVALIDITY with messages, messages beyond the
// source's): store copy never merges two histories.
var ErrCopyConflict = errors.New("the target holds different data under the same name")

// CopyNotCopied lists what barid store copy does not carry over (shown
// in --help and the report).
var CopyNotCopied = []string{
	"the creation time of app passwords (it becomes the time of the copy)",
	"SAVEDATE (RFC 8514: it becomes the time of the copy)",
	"URLAUTH access keys (RFC 4467 URLs issued before the copy stop verifying)",
	"/private METADATA that an account set on another account's shared mailbox",
	"the full-text index (rebuild it on the target: barid index rebuild)",
}

// CopyStats sums what a run did.
type CopyStats struct {
	Accounts, AccountsSkipped   int
	Mailboxes, MailboxesSkipped int
	Messages, MessagesSkipped   int64
	Bytes                       int64
	Inline                      int64 // messages kept inline on the target
	FlagsFixed, Expunged        int64 // resumed mailboxes brought in line
	Tombstones                  int64 // expunged UIDs recorded for QRESYNC
	Extras                      map[string]int
}

func (c *StoreCopier) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run copies every account. names, when not empty, limits the copy to
// those accounts.
func (c *StoreCopier) Run(ctx context.Context, names []string) (*CopyStats, error) {
	st := &CopyStats{Extras: map[string]int{}}
	c.boxes = map[int64]int64{}
	accts, err := c.Src.Accounts(ctx)
	if err != nil {
		return st, err
	}
	if len(names) > 0 {
		accts = slices.DeleteFunc(accts, func(a store.Account) bool {
			return !slices.Contains(names, a.Name)
		})
		if len(accts) != len(names) {
			return st, fmt.Errorf("%w: some of %v are not source accounts", store.ErrNoAccount, names)
		}
	}
	// Totals first, so that the progress line can say how far along
	// the copy is.
	for _, a := range accts {
		mbs, err := c.Src.Mailboxes(ctx, a.ID)
		if err != nil {
			return st, err
		}
		for _, mb := range mbs {
			s, err := c.Src.MailboxStatus(ctx, mb.ID)
			if err != nil {
				return st, err
			}
			c.Progress.AddTotal(int64(s.Messages), s.Size)
		}
	}
	idMap := map[int64]int64{} // source account ID -> target's
	for i := range accts {
		dstID, err := c.account(ctx, &accts[i], st)
		if err != nil {
			return st, fmt.Errorf("account %s: %w", accts[i].Name, err)
		}
		idMap[accts[i].ID] = dstID
	}
	if err := c.global(ctx, idMap, st); err != nil {
		return st, err
	}
	if err := c.privateSeen(ctx, idMap, st); err != nil {
		return st, err
	}
	return st, nil
}

// privateSeen copies each user's private \Seen on the copied mailboxes
// (store.PrivateSeenCopier, docs/sharing.md "Private \Seen") with its
// modseqs, once every account is copied, since the users are other
// accounts than the owner. Rows of users left out of the copy are left
// out too. Each write replaces, so a rerun changes nothing.
func (c *StoreCopier) privateSeen(ctx context.Context, idMap map[int64]int64, st *CopyStats) error {
	sp, ok := c.Src.(store.PrivateSeenCopier)
	if !ok {
		return nil
	}
	dp, ok := c.Dst.(store.PrivateSeenCopier)
	if !ok {
		return nil
	}
	srcIDs := make([]int64, 0, len(c.boxes))
	for id := range c.boxes {
		srcIDs = append(srcIDs, id)
	}
	slices.Sort(srcIDs)
	for _, id := range srcIDs {
		rows, err := sp.AllPrivateSeen(ctx, id)
		if err != nil {
			return err
		}
		for i := 0; i < len(rows); {
			j := i
			for j < len(rows) && rows[j].AccountID == rows[i].AccountID {
				j++
			}
			if to, ok := idMap[rows[i].AccountID]; ok {
				ps := make([]store.PrivateSeen, 0, j-i)
				for _, r := range rows[i:j] {
					ps = append(ps, r.PrivateSeen)
				}
				if err := dp.ImportPrivateSeen(ctx, c.boxes[id], to, ps); err != nil {
					return fmt.Errorf("private \\Seen: %w", err)
				}
				st.Extras["private \\Seen rows"] += len(ps)
			}
			i = j
		}
	}
	return nil
}

func (c *StoreCopier) account(ctx context.Context, src *store.Account, st *CopyStats) (int64, error) {
	dst, err := c.Dst.Account(ctx, src.Name)
	switch {
	case errors.Is(err, store.ErrNoAccount):
		if dst, err = c.Dst.CreateAccount(ctx, src.Name, src.Secret); err != nil {
			return 0, err
		}
		st.Accounts++
	case err != nil:
		return 0, err
	case !bytes.Equal(dst.Secret, src.Secret):
		// Same name, another password: another person's account, or
		// one changed on the target since; never merged.
		return 0, fmt.Errorf("%w: the target's account %q has another password hash (delete it there, or leave the account out)", ErrCopyConflict, src.Name)
	default:
		st.AccountsSkipped++
	}
	mbs, err := c.Src.Mailboxes(ctx, src.ID)
	if err != nil {
		return 0, err
	}
	// INBOX first (the target made one with the account), then parents
	// before children.
	slices.SortFunc(mbs, func(a, b store.Mailbox) int {
		if (a.Name == "INBOX") != (b.Name == "INBOX") {
			if a.Name == "INBOX" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	for i := range mbs {
		if err := c.mailbox(ctx, dst.ID, &mbs[i], st); err != nil {
			return 0, fmt.Errorf("mailbox %q: %w", mbs[i].Name, err)
		}
	}
	subs, err := c.Src.Subscriptions(ctx, src.ID)
	if err != nil {
		return 0, err
	}
	have, err := c.Dst.Subscriptions(ctx, dst.ID)
	if err != nil {
		return 0, err
	}
	for _, name := range subs {
		if !slices.Contains(have, name) {
			if _, err := c.Dst.SetSubscribed(ctx, dst.ID, name, true); err != nil {
				return 0, err
			}
		}
	}
	if err := c.accountExtras(ctx, src, dst, mbs, st); err != nil {
		return 0, err
	}
	return dst.ID, nil
}

// mailbox copies one mailbox: created with the source's UIDVALIDITY,
// then the messages above the target's UIDNEXT, then UIDNEXT and
// HIGHESTMODSEQ raised to the source's.
func (c *StoreCopier) mailbox(ctx context.Context, dstAcct int64, src *store.Mailbox, st *CopyStats) error {
	sstat, err := c.Src.MailboxStatus(ctx, src.ID)
	if err != nil {
		return err
	}
	// Re-read under the status's view: UIDNEXT and HIGHESTMODSEQ.
	*src = sstat.Mailbox
	dst, err := c.Dst.Mailbox(ctx, dstAcct, src.Name)
	if errors.Is(err, store.ErrNoMailbox) {
		dst, _, err = c.Dst.CreateMailbox(ctx, dstAcct, src.Name, src.SpecialUse)
	}
	if err != nil {
		return err
	}
	if dst.UIDValidity != src.UIDValidity {
		if dst.UIDNext != 1 {
			return fmt.Errorf("%w: the target's mailbox has UIDVALIDITY %d and has held messages; the source's is %d",
				ErrCopyConflict, dst.UIDValidity, src.UIDValidity)
		}
		if dst, err = c.Dst.SetUIDValidity(ctx, dst.ID, src.UIDValidity); err != nil {
			return err
		}
	}
	if dst.UIDNext > src.UIDNext {
		return fmt.Errorf("%w: the target's UIDNEXT %d is above the source's %d", ErrCopyConflict, dst.UIDNext, src.UIDNext)
	}
	dstat, err := c.Dst.MailboxStatus(ctx, dst.ID)
	if err != nil {
		return err
	}
	c.boxes[src.ID] = dst.ID
	if dst.UIDNext == src.UIDNext && dst.HighestModSeq == src.HighestModSeq && dstat.Messages == sstat.Messages {
		// Complete (run before, source unchanged since).
		st.MailboxesSkipped++
		st.MessagesSkipped += int64(sstat.Messages)
		for range sstat.Messages {
			c.Progress.Done(0, true)
		}
		return nil
	}
	st.Mailboxes++
	uids, err := c.Src.UIDsAfter(ctx, src.ID, dst.UIDNext-1)
	if err != nil {
		return err
	}
	before := dst.UIDNext // UIDs below it were copied by earlier runs
	if err := c.copyMessages(ctx, src, dst, uids, st); err != nil {
		return err
	}
	// Then every message gets the source's MODSEQ (and, for those an
	// earlier run copied, the source's flags, or is expunged as in the
	// source). Last, so that the modseqs the appends took stay below
	// the HIGHESTMODSEQ raised to the source's.
	if err := c.reconcile(ctx, src, dst, before, st); err != nil {
		return err
	}
	// UIDNEXT past the source's expunged tail (RFC 9051 §2.3.1.1: a
	// UID is never reused), HIGHESTMODSEQ up to the source's.
	if _, err := c.Dst.AppendMessagesAt(ctx, dst.ID, nil, nil, src.UIDNext); err != nil {
		return err
	}
	// \Recent (RFC 3501 §2.3.2): the messages a source session already
	// claimed are not recent on the target either.
	if src.FirstRecent > 1 {
		if _, err := c.Dst.ClaimRecent(ctx, dst.ID, src.FirstRecent-1); err != nil {
			return err
		}
	}
	if err := c.setModSeqs(ctx, dst.ID, nil, nil, src.HighestModSeq); err != nil {
		return err
	}
	if err := c.tombstones(ctx, src, dst, st); err != nil {
		return err
	}
	c.log().Info("mailbox copied", "account", dstAcct, "mailbox", src.Name, "uidvalidity", src.UIDValidity,
		"uidnext", src.UIDNext, "highestmodseq", src.HighestModSeq, "new", len(uids))
	return nil
}

func (c *StoreCopier) setModSeqs(ctx context.Context, mailboxID int64, uids []store.UID, ms []store.ModSeq, highest store.ModSeq) error {
	s, ok := c.Dst.(store.ModSeqSetter)
	if !ok {
		return fmt.Errorf("%w: the target store cannot set MODSEQs (store.ModSeqSetter)", store.ErrCannot)
	}
	return s.SetModSeqs(ctx, mailboxID, uids, ms, highest)
}

// pending is one message read from the source, waiting for its bytes.
type pending struct {
	uid store.UID
	msg store.NewMessage
}

func (c *StoreCopier) copyMessages(ctx context.Context, src, dst *store.Mailbox, uids []store.UID, st *CopyStats) error {
	maxN := c.BatchMessages
	if maxN <= 0 {
		maxN = 500
		// Each append transaction takes one modseq on the target.
		// Fewer transactions than the source has modseqs left keep
		// the target's HIGHESTMODSEQ at the source's after the
		// final pass (so that a rerun finds the mailbox complete):
		// a mailbox imported in a few big transactions gets bigger
		// batches, up to maxCopyBatch.
		if budget := int64(src.HighestModSeq) - int64(dst.HighestModSeq) - 1; budget > 0 {
			maxN = int(min(max(int64(maxN), (int64(len(uids))+budget-1)/budget), maxCopyBatch))
		}
	}
	maxB := c.BatchBytes
	if maxB <= 0 {
		maxB = 16 << 20
	}
	// Metadata in slices of maxN (FetchMessages must not call back into
	// the store, so bytes are copied after it returns), appended in
	// batches whose inline bytes (held in memory until the commit; a
	// file blob is streamed and written before) stay under maxB.
	for len(uids) > 0 {
		chunk := uids[:min(maxN, len(uids))]
		uids = uids[len(chunk):]
		var batch []pending
		err := c.Src.FetchMessages(ctx, src.ID, chunk, store.FieldAll, func(m *store.Message) error {
			batch = append(batch, pending{uid: m.UID, msg: store.NewMessage{
				Flags:        store.Flags{System: m.Flags.System, Keywords: slices.Clone(m.Flags.Keywords)},
				BlobID:       m.BlobID,
				Size:         m.Size,
				InternalDate: m.InternalDate,
				Header:       m.Header, Structure: m.Structure, Envelope: m.Envelope,
				Subject: m.Subject, From: m.From, To: m.To, Cc: m.Cc, Bcc: m.Bcc, SentDate: m.SentDate,
				Preview: m.Preview, HasPreview: m.HasPreview,
				EmailID: m.EmailID,
				// RFC 8474 §5.2: the THREADID is kept, and the
				// target's thread index learns the message's ids
				// so that later mail joins its thread there too.
				ThreadID: m.ThreadID,
			}})
			nm := &batch[len(batch)-1].msg
			nm.MessageID, nm.References = header.ThreadFields(m.Header)
			return nil
		})
		if err != nil {
			return err
		}
		for len(batch) > 0 {
			n, size := 0, int64(0)
			for n < len(batch) && (n == 0 || size+c.heldBytes(&batch[n].msg) <= maxB) {
				size += c.heldBytes(&batch[n].msg)
				n++
			}
			if err := c.appendBatch(ctx, dst, batch[:n], st); err != nil {
				return err
			}
			batch = batch[n:]
		}
	}
	return nil
}

// maxCopyBatch bounds the messages of one append transaction.
const maxCopyBatch = 5000

// heldBytes is what m's bytes cost in memory until its batch commits:
// its size if it may go inline, else nothing (a file blob is streamed).
func (c *StoreCopier) heldBytes(m *store.NewMessage) int64 {
	if m.Size <= c.DstInlineMax {
		return m.Size
	}
	return 0
}

func (c *StoreCopier) appendBatch(ctx context.Context, dst *store.Mailbox, batch []pending, st *CopyStats) error {
	uids := make([]store.UID, len(batch))
	msgs := make([]store.NewMessage, len(batch))
	for i := range batch {
		p := &batch[i]
		if err := c.bytesOf(ctx, &p.msg, st); err != nil {
			return fmt.Errorf("UID %d (blob %s): %w", p.uid, p.msg.BlobID, err)
		}
		uids[i], msgs[i] = p.uid, p.msg
	}
	if _, err := c.Dst.AppendMessagesAt(ctx, dst.ID, uids, msgs, 0); err != nil {
		return err
	}
	for i := range batch {
		st.Messages++
		st.Bytes += batch[i].msg.Size
		c.Progress.Done(batch[i].msg.Size, false)
	}
	return nil
}

// bytesOf gives m its bytes on the target: inline when the source kept
// it inline and the target's inline_max_bytes allows, else copied
// (streamed) from the source's blob store to the target's, under the
// same content ID (both stores name a blob by its SHA-256).
func (c *StoreCopier) bytesOf(ctx context.Context, m *store.NewMessage, st *CopyStats) error {
	if c.SrcInline != nil {
		data, ok, err := c.SrcInline.OpenInline(ctx, m.BlobID)
		if err != nil {
			return err
		}
		if ok && int64(len(data)) <= c.DstInlineMax {
			m.Inline = data
			st.Inline++
			return nil
		}
		if ok {
			return c.writeBlob(ctx, m.BlobID, bytes.NewReader(data))
		}
	}
	r, err := c.SrcBlobs.Open(ctx, m.BlobID)
	if err != nil {
		return err
	}
	defer r.Close()
	return c.writeBlob(ctx, m.BlobID, io.NewSectionReader(r, 0, r.Size()))
}

func (c *StoreCopier) writeBlob(ctx context.Context, id string, r io.Reader) error {
	w, err := c.DstFiles.Create(ctx)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return err
	}
	got, _, err := w.Commit(ctx)
	if err != nil {
		return err
	}
	if got != id {
		// Both stores address blobs by SHA-256 of the bytes: another ID
		// means the source's bytes are not what its row names.
		return fmt.Errorf("the source's bytes hash to %s, not to the blob ID its message row names", got)
	}
	return nil
}

// reconcile gives the copied messages the source's MODSEQs, and brings
// those an earlier run copied (UIDs below before) in line with the
// source: messages expunged there since are expunged on the target,
// flags changed there since are set, and every copied message gets the
// source's MODSEQ back. It reads both sides in slices of UIDs.
func (c *StoreCopier) reconcile(ctx context.Context, src, dst *store.Mailbox, before store.UID, st *CopyStats) error {
	const slice = 1000
	var after store.UID
	for {
		dstUIDs, err := c.Dst.UIDsAfter(ctx, dst.ID, after)
		if err != nil {
			return err
		}
		dstUIDs = dstUIDs[:min(slice, len(dstUIDs))]
		if len(dstUIDs) == 0 {
			return nil
		}
		after = dstUIDs[len(dstUIDs)-1]
		type fm struct {
			flags store.Flags
			ms    store.ModSeq
		}
		want := map[store.UID]fm{}
		err = c.Src.FetchMessages(ctx, src.ID, dstUIDs, store.FieldFlags, func(m *store.Message) error {
			want[m.UID] = fm{store.Flags{System: m.Flags.System, Keywords: slices.Clone(m.Flags.Keywords)}, m.ModSeq}
			return nil
		})
		if err != nil {
			return err
		}
		var gone, fix []store.UID
		var fixMS []store.ModSeq
		var fixFlags []store.Flags
		var differ []bool // the flags differ, not only the modseq
		err = c.Dst.FetchMessages(ctx, dst.ID, dstUIDs, store.FieldFlags, func(m *store.Message) error {
			w, ok := want[m.UID]
			switch {
			case !ok:
				gone = append(gone, m.UID)
			case !m.Flags.Equal(w.flags) || m.ModSeq != w.ms:
				fix = append(fix, m.UID)
				fixMS = append(fixMS, w.ms)
				fixFlags = append(fixFlags, w.flags)
				differ = append(differ, !m.Flags.Equal(w.flags))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(gone) > 0 {
			if _, _, err := c.Dst.Expunge(ctx, dst.ID, gone); err != nil {
				return err
			}
			st.Expunged += int64(len(gone))
		}
		// One STORE per distinct flag state (each takes a modseq, and
		// the fewer the target takes, the less its HIGHESTMODSEQ can
		// run ahead of the source's).
		byFlags := map[string][]store.UID{}
		var order []string
		var highest store.ModSeq
		for i, u := range fix {
			highest = max(highest, fixMS[i])
			if !differ[i] {
				continue
			}
			st.FlagsFixed++
			k := strings.ToLower(strings.Join(fixFlags[i].Names(), " "))
			if _, ok := byFlags[k]; !ok {
				order = append(order, k)
			}
			byFlags[k] = append(byFlags[k], u)
		}
		for _, k := range order {
			us := byFlags[k]
			want := fixFlags[slices.Index(fix, us[0])]
			if _, _, _, err := c.Dst.StoreFlags(ctx, dst.ID, us, store.FlagsReplace, want, 0); err != nil {
				return err
			}
		}
		if len(fix) > 0 {
			if err := c.setModSeqs(ctx, dst.ID, fix, fixMS, highest); err != nil {
				return err
			}
		}
		// Progress: the messages earlier runs copied count as
		// skipped (those of this run were counted as copied).
		for _, u := range dstUIDs {
			if u < before && !slices.Contains(gone, u) {
				st.MessagesSkipped++
				c.Progress.Done(0, true)
			}
		}
	}
}

// tombstones copies the source's expunge tombstones, so that a QRESYNC
// client whose cached modseq predates an expunge made in the source
// still hears of it as VANISHED (EARLIER) (RFC 7162 §3.2.5.1).
func (c *StoreCopier) tombstones(ctx context.Context, src, dst *store.Mailbox, st *CopyStats) error {
	uids, err := c.Src.ExpungedSince(ctx, src.ID, 0)
	if err != nil {
		return err
	}
	s, ok := c.Dst.(store.ModSeqSetter)
	if !ok {
		return fmt.Errorf("%w: the target store cannot record tombstones (store.ModSeqSetter)", store.ErrCannot)
	}
	for len(uids) > 0 {
		chunk := uids[:min(1000, len(uids))]
		uids = uids[len(chunk):]
		tombs, err := c.Src.ExpungedFlags(ctx, src.ID, chunk)
		if err != nil {
			return err
		}
		if err := s.SetTombstones(ctx, dst.ID, tombs); err != nil {
			return err
		}
		st.Tombstones += int64(len(tombs))
	}
	return nil
}
