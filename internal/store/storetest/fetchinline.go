package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"barid/internal/store"
)

// testFetchInline: FetchMessages with store.FieldInline hands back the
// bytes of the messages the store keeps itself (NewMessage.Inline),
// an empty message as an empty non-nil slice, nil for a message whose
// bytes are in the blob store, together with the record's basics
// (BlobID) and whatever else was asked; without the field Inline
// stays nil. Copies share the bytes (content-addressed) and get them
// too; after an expunge the message is simply not returned.
func testFetchInline(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)
	_, in := setup(t, s)
	inline := func(i int, data []byte) store.NewMessage {
		m := msg(i)
		sum := sha256.Sum256(data)
		m.BlobID, m.Inline, m.Size = hex.EncodeToString(sum[:]), data, int64(len(data))
		return m
	}
	small := []byte("Subject: small\r\n\r\nkept with the record\r\n")
	msgs := []store.NewMessage{inline(1, small), msg(2), inline(3, []byte{})}
	uids, _, err := s.AppendMessages(ctx, in.ID, msgs)
	noErr(t, err)
	got := map[store.UID]store.Message{}
	noErr(t, s.FetchMessages(ctx, in.ID, uids, store.FieldInline|store.FieldFlags|store.FieldStructure, func(m *store.Message) error {
		got[m.UID] = *m
		return nil
	}))
	if len(got) != 3 {
		t.Fatalf("FieldInline fetch returned %d messages, want 3", len(got))
	}
	for i, u := range uids {
		m := got[u]
		if m.BlobID != msgs[i].BlobID {
			t.Errorf("uid %d: BlobID %q, want %q (FieldInline implies the basics)", u, m.BlobID, msgs[i].BlobID)
		}
		if !bytes.Equal(m.Structure, msgs[i].Structure) {
			t.Errorf("uid %d: Structure %v, want %v", u, m.Structure, msgs[i].Structure)
		}
		switch {
		case msgs[i].Inline == nil && m.Inline != nil:
			t.Errorf("uid %d (bytes in the blob store): Inline %q, want nil", u, m.Inline)
		case msgs[i].Inline != nil && (m.Inline == nil || !bytes.Equal(m.Inline, msgs[i].Inline)):
			t.Errorf("uid %d: Inline %q (nil %v), want %q", u, m.Inline, m.Inline == nil, msgs[i].Inline)
		}
	}
	// Without the field: no bytes.
	noErr(t, s.FetchMessages(ctx, in.ID, uids, store.FieldBasics|store.FieldHeader|store.FieldStructure, func(m *store.Message) error {
		if m.Inline != nil {
			t.Errorf("uid %d: Inline %q without FieldInline", m.UID, m.Inline)
		}
		return nil
	}))
	// A copy names the same blob and reads the same bytes; the
	// expunged original is not returned.
	other, _, err := s.CreateMailbox(ctx, in.AccountID, "Other", "")
	noErr(t, err)
	cr, _, err := s.CopyMessages(ctx, in.ID, uids[:1], other.ID)
	noErr(t, err)
	dst := cr.DstUIDs
	_, _, err = s.Expunge(ctx, in.ID, uids[:1])
	noErr(t, err)
	n := 0
	noErr(t, s.FetchMessages(ctx, other.ID, dst, store.FieldInline, func(m *store.Message) error {
		n++
		if !bytes.Equal(m.Inline, small) {
			t.Errorf("copy: Inline %q, want %q", m.Inline, small)
		}
		return nil
	}))
	if n != 1 {
		t.Fatalf("copy: %d messages, want 1", n)
	}
	noErr(t, s.FetchMessages(ctx, in.ID, uids, store.FieldInline, func(m *store.Message) error {
		if m.UID == uids[0] {
			t.Errorf("expunged uid %d returned", m.UID)
		}
		return nil
	}))
}
