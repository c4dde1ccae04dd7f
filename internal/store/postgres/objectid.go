package postgres

import (
	"context"
	"crypto/rand"
	"encoding/binary"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// emailID returns id, or a new random EMAILID (RFC 8474 §5.1) when id
// is 0: 63 random bits, so ids reveal nothing about the store (RFC 8474
// §9) and need no counter shared by the nodes.
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
func previewValue(nm *store.NewMessage) []byte {
	if !nm.HasPreview {
		return nil
	}
	return []byte(nm.Preview)
}

// SetPreview stores the RFC 8970 preview of a message that has none (a
// message stored before previews were computed at delivery). Two nodes
// computing it at once both write the same text; the first one stays.
func (s *Store) SetPreview(ctx context.Context, mailboxID int64, uid store.UID, preview string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE messages SET preview = $1 WHERE mailbox = $2 AND uid = $3 AND preview IS NULL`,
			[]byte(preview), mailboxID, int64(uid))
		return err
	})
}
