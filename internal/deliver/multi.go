package deliver

import (
	"context"
	"fmt"
	"io"

	"barid/internal/notify"
	"barid/internal/store"
)

// MailboxCopy is one copy of a prepared message for CommitMulti: its
// mailbox and its flags (a Sieve fileinto :flags, the implicit keep's
// imap4flags).
type MailboxCopy struct {
	MailboxID int64
	Flags     store.Flags
}

// CommitMulti stores p into several mailboxes, each copy with its own
// flags, in one transaction when the store can (store.MultiAppender):
// all copies or none (a Sieve script's fileinto actions and keep). It
// publishes the changes and returns one UID per copy, in order.
func (d *Deliverer) CommitMulti(ctx context.Context, p *Prepared, copies []MailboxCopy) ([]store.UID, error) {
	ma, ok := d.Store.(store.MultiAppender)
	if !ok {
		return nil, fmt.Errorf("deliver: the store cannot append to several mailboxes in one transaction")
	}
	msgs := make([]store.MailboxMessage, len(copies))
	for i, c := range copies {
		m := p.NewMessage
		m.Flags = c.Flags
		msgs[i] = store.MailboxMessage{MailboxID: c.MailboxID, Message: m}
	}
	uids, changes, err := ma.AppendMulti(ctx, msgs)
	if err != nil {
		return nil, err
	}
	d.Bus.PublishFrom(notify.Origin(ctx), changes)
	return uids, nil
}

// Bytes returns the whole message of p (for a Sieve body test, a
// redirect): its inline bytes, or the blob read back.
func (d *Deliverer) Bytes(ctx context.Context, p *Prepared) ([]byte, error) {
	if p.Inline != nil {
		return p.Inline, nil
	}
	r, err := d.Blobs.Open(ctx, p.BlobID)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return buf, nil
}
