package server

import (
	"fmt"

	"barid/internal/mailbox"
	"barid/internal/store"
)

// RFC 9051 §6.4.7 COPY with UIDPLUS COPYUID (RFC 4315 §3).
func handleCopy(c *Conn, tag string) error { return c.copyMove(tag, false, false) }

// RFC 9051 §6.4.9 UID COPY.
func handleUIDCopy(c *Conn, tag string) error { return c.copyMove(tag, true, false) }

// RFC 6851 / RFC 9051 §6.4.8 MOVE.
func handleMove(c *Conn, tag string) error { return c.copyMove(tag, false, true) }

// RFC 9051 §6.4.9 UID MOVE.
func handleUIDMove(c *Conn, tag string) error { return c.copyMove(tag, true, true) }

func (c *Conn) copyMove(tag string, uid, move bool) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	uids, terr := c.readTargets(uid)
	if terr != nil {
		if _, ok := terr.(*deferredErr); !ok {
			return terr
		}
	}
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var raw string
	if !c.dec.ExpectAString(&raw) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if terr != nil {
		return terr.(*deferredErr).err
	}
	name, err := c.canonicalName(raw)
	if err != nil {
		return err
	}
	st := c.srv.cfg.Store
	// RFC 4314 §4: "r" on the source (read again on another owner's
	// mailbox), "i" on the target.
	if err := c.needSel(mailbox.RightRead); err != nil {
		return err
	}
	dst, err := c.resolveTarget(name)
	if err != nil {
		return err
	}
	if move {
		if err := c.requireWritable(); err != nil {
			return err
		}
		// RFC 6851 §3.3 / RFC 4314 §4: MOVE also needs what STORE
		// \Deleted and EXPUNGE need on the source.
		if err := c.needSel(mailbox.RightDeleteMsg | mailbox.RightExpunge); err != nil {
			return err
		}
	}
	if len(uids) == 0 {
		if move {
			return c.ok(tag, "", "No messages moved.")
		}
		return c.ok(tag, "", "No messages copied.")
	}
	var res *store.CopyResult
	var changes []store.Change
	if move {
		res, changes, err = st.MoveMessages(c.ctx(), c.sel.mbox.ID, uids, dst.ID)
	} else {
		res, changes, err = st.CopyMessages(c.ctx(), c.sel.mbox.ID, uids, dst.ID)
	}
	if err != nil {
		return err
	}
	c.publish(changes)
	if res != nil {
		if err := c.dropCopiedFlags(dst, res.DstUIDs); err != nil {
			return err
		}
		if err := c.carryPrivateSeen(dst, res); err != nil {
			return err
		}
	}
	code := ""
	if res != nil && len(res.SrcUIDs) > 0 {
		src := make([]uint32, len(res.SrcUIDs))
		dstU := make([]uint32, len(res.DstUIDs))
		for i := range res.SrcUIDs {
			src[i] = uint32(res.SrcUIDs[i])
			dstU[i] = uint32(res.DstUIDs[i])
		}
		code = fmt.Sprintf("COPYUID %d %s %s", res.UIDValidity, uidList(src), uidList(dstU))
	}
	if !move {
		return c.ok(tag, code, "Copy completed.")
	}
	// RFC 6851 §4.3: COPYUID goes in an untagged OK before the
	// expunges, which are sent even for MOVE by sequence number.
	if code != "" {
		c.enc.RawString("* OK [").RawString(code).RawString("] Moved").CRLF()
	}
	c.pollUpdates()
	moved := res.SrcUIDs
	for _, u := range moved {
		delete(c.sel.expunged, u)
	}
	c.expungeFromView(moved)
	return c.ok(tag, "", "Move completed.")
}

// uidList renders UIDs in their given order (COPYUID pairs source and
// destination by position, so no reordering), compressing runs.
func uidList(u []uint32) string {
	var b []byte
	for i := 0; i < len(u); {
		j := i
		for j+1 < len(u) && u[j+1] == u[j]+1 {
			j++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", u[i])
		if j > i {
			b = fmt.Appendf(b, ":%d", u[j])
		}
		i = j + 1
	}
	return string(b)
}
