package server

import (
	"context"
	"fmt"
	"strings"

	"barid/internal/imap"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
	"barid/internal/store"
)

// RFC 8970 PREVIEW.
//
// The preview is computed at delivery (internal/deliver) and stored with
// the message record, so FETCH PREVIEW reads one column. A message
// stored before previews existed has none: PREVIEW computes it from the
// message's first text part and stores it (SetPreview); PREVIEW (LAZY)
// answers NIL for it instead (RFC 8970 §3.1: the client will ask again
// later) and leaves the work to a plain PREVIEW.

// previewFields are what a PREVIEW item needs from the store: the stored
// preview, and the structure and blob to compute a missing one.
const previewFields = store.FieldPreview | store.FieldStructure | store.FieldBasics

// parsePreviewItem reads what follows the PREVIEW atom:
// [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod = "LAZY"
// (RFC 8970 §6).
func (c *Conn) parsePreviewItem() (fetchItem, error) {
	it := fetchItem{kind: fPreview}
	if b, ok := c.dec.PeekAfterSP(); !ok || b != '(' {
		return it, nil
	}
	c.dec.SP()
	var bad string
	n := 0
	if !c.dec.ExpectList(func() bool {
		var a string
		if !c.dec.ExpectAtom(&a) {
			return false
		}
		n++
		if strings.EqualFold(a, "LAZY") {
			it.lazy = true
		} else if bad == "" {
			bad = a
		}
		return true
	}) {
		return it, c.dec.Err()
	}
	if bad != "" {
		return it, &imap.Error{Type: imap.TypeBAD, Text: "Unknown PREVIEW modifier " + bad}
	}
	if n == 0 {
		return it, &imap.Error{Type: imap.TypeBAD, Text: "PREVIEW modifier list is empty"}
	}
	return it, nil
}

// preview returns m's preview, computing and storing it if the record
// has none (unless lazy, which answers NIL).
func (c *Conn) preview(ctx context.Context, m *store.Message, lazy bool) (string, bool, error) {
	if m.HasPreview {
		return m.Preview, false, nil
	}
	if lazy {
		return "", true, nil
	}
	root, err := mime.Unmarshal(m.Structure)
	if err != nil {
		return "", false, fmt.Errorf("corrupt structure: %w", err)
	}
	br, err := c.srv.cfg.Blobs.Open(ctx, m.BlobID)
	if err != nil {
		return "", false, err
	}
	defer br.Close()
	pv, err := msgdata.Preview(root, br)
	if err != nil {
		return "", false, err
	}
	if err := c.srv.cfg.Store.SetPreview(c.ctx(), m.MailboxID, m.UID, pv); err != nil {
		// The answer stands; the next FETCH computes it again.
		c.log.Warn("preview not stored", "uid", m.UID, "err", err)
	}
	return pv, false, nil
}
