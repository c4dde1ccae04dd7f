package sqlite

import (
	"bytes"
	"context"
	"database/sql/driver"
	"fmt"
	"testing"

	"barid/internal/store"
)

// rawQuery hands fn BLOBs that stay valid after the next row: the driver
// copies each one into a fresh slice. If a driver upgrade started reusing
// a buffer, FETCH would send one message's structure for another's; this
// test catches that first.
func TestRawQueryFreshBlobs(t *testing.T) {
	ctx := context.Background()
	var msgs []store.NewMessage
	for i := range 50 {
		msgs = append(msgs, store.NewMessage{BlobID: fmt.Sprintf("%064x", i), Size: 10,
			Structure: bytes.Repeat([]byte{byte('a' + i%26)}, 100+i), Envelope: []byte(fmt.Sprintf("(env %d)", i))})
	}
	s, mb, _ := openInbox(t, "", Options{}, msgs)
	var kept [][]byte
	err := s.readTx(ctx, func(r *reader) error {
		return r.rawQuery(`SELECT structure, envelope FROM messages WHERE mailbox = ? ORDER BY uid`, namedArgs(mb.ID), func(v []driver.Value) error {
			kept = append(kept, rawBytes(v[0]), rawBytes(v[1]))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 100 {
		t.Fatalf("%d values, want 100", len(kept))
	}
	for i := range 50 {
		if !bytes.Equal(kept[2*i], msgs[i].Structure) || !bytes.Equal(kept[2*i+1], msgs[i].Envelope) {
			t.Fatalf("row %d changed after later rows were read: %q %q", i, kept[2*i][:10], kept[2*i+1])
		}
	}
	// errStopRows ends the scan quietly.
	n := 0
	err = s.readTx(ctx, func(r *reader) error {
		return r.rawQuery(`SELECT uid FROM messages WHERE mailbox = ?`, namedArgs(mb.ID), func([]driver.Value) error {
			n++
			return errStopRows
		})
	})
	if err != nil || n != 1 {
		t.Fatalf("stop: n=%d err=%v", n, err)
	}
}
