package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/binary"

	"barid/internal/store"
)

// emailID returns id, or a new random EMAILID (RFC 8474 §5.1) when id
// is 0: 63 random bits, so ids reveal nothing about the store (RFC 8474
// §9) and need no shared counter in the append transaction.
func emailID(id int64) int64 {
	for id == 0 {
		var b [8]byte
		rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
		id = int64(binary.LittleEndian.Uint64(b[:]) &^ (1 << 63))
	}
	return id
}

// previewValue is the preview column of a new message: NULL when none
// was computed.
func previewValue(nm *store.NewMessage) any {
	if !nm.HasPreview {
		return nil
	}
	return nm.Preview
}

// SetPreview stores the RFC 8970 preview of a message that has none (a
// message stored before previews were computed at delivery). It is a
// cache of what the message bytes say, so it is written lazily.
func (s *Store) SetPreview(ctx context.Context, mailboxID int64, uid store.UID, preview string) error {
	return s.writeLazy(ctx, func(t *wtx) error {
		_, err := t.exec(`UPDATE messages SET preview = ? WHERE mailbox = ? AND uid = ? AND preview IS NULL`,
			preview, mailboxID, int64(uid))
		return err
	})
}
