package server

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// RFC 9051 §6.4.6 STORE, with CONDSTORE UNCHANGEDSINCE (RFC 7162 §3.1.3).
func handleStore(c *Conn, tag string) error { return c.storeFlags(tag, false) }

// RFC 9051 §6.4.9 UID STORE.
func handleUIDStore(c *Conn, tag string) error { return c.storeFlags(tag, true) }

func (c *Conn) storeFlags(tag string, uid bool) error {
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
	var unchangedSince store.ModSeq
	if b, ok := c.dec.Peek(); ok && b == '(' {
		var bad string
		if !c.dec.ExpectList(func() bool {
			var a string
			var n int64
			if !c.dec.ExpectAtom(&a) {
				return false
			}
			if !strings.EqualFold(a, "UNCHANGEDSINCE") {
				bad = a
				return c.dec.ExpectSP() && c.dec.ExpectNumber64(&n)
			}
			if !c.dec.ExpectSP() || !c.dec.ExpectNumber64(&n) {
				return false
			}
			unchangedSince = store.ModSeq(n)
			return true
		}) || !c.dec.ExpectSP() {
			return c.dec.Err()
		}
		if bad != "" {
			return &imap.Error{Type: "BAD", Text: "Unknown STORE modifier " + bad}
		}
		c.enableCondstore()
	}
	var item string
	if !c.dec.ExpectAtom(&item) || !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	item = strings.ToUpper(item)
	silent := strings.HasSuffix(item, ".SILENT")
	item = strings.TrimSuffix(item, ".SILENT")
	var op store.FlagOp
	switch item {
	case "FLAGS":
		op = store.FlagsReplace
	case "+FLAGS":
		op = store.FlagsAdd
	case "-FLAGS":
		op = store.FlagsRemove
	default:
		return &imap.Error{Type: "BAD", Text: "Expected FLAGS, +FLAGS or -FLAGS"}
	}
	var names []string
	readFlag := func() bool {
		var f string
		if !c.dec.ExpectFlag(&f) {
			return false
		}
		names = append(names, f)
		return true
	}
	if b, ok := c.dec.Peek(); ok && b == '(' {
		if !c.dec.ExpectList(readFlag) {
			return c.dec.Err()
		}
	} else {
		if !readFlag() {
			return c.dec.Err()
		}
		for c.dec.SP() {
			if !readFlag() {
				return c.dec.Err()
			}
		}
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if terr != nil {
		return terr.(*deferredErr).err
	}
	for _, n := range names {
		if strings.EqualFold(n, `\Recent`) || (strings.HasPrefix(n, `\`) && !isSystemFlag(n)) {
			return &imap.Error{Type: "BAD", Text: "Invalid system flag " + n}
		}
	}
	if c.sel.readOnly {
		// RFC 3501 §6.3.2 forbids changes after EXAMINE but does not
		// require NO; Dovecot answers OK and changes nothing, and so do
		// we, so clients that mark read messages don't show errors.
		return c.ok(tag, "", "Store skipped: mailbox is read-only.")
	}
	flags := store.FlagsFromNames(names)
	if err := c.storeRights(op, flags); err != nil {
		return err
	}
	if len(uids) == 0 {
		return c.ok(tag, "", "Store completed.")
	}
	if c.sel.pvt != nil {
		return c.storePrivate(tag, uid, uids, op, flags, unchangedSince, silent)
	}
	results, failed, changes, err := c.srv.cfg.Store.StoreFlags(c.ctx(), c.sel.mbox.ID, uids, op, flags, unchangedSince)
	if err != nil {
		return err
	}
	for _, r := range results {
		c.sel.own[r.UID] = r.ModSeq
	}
	c.publish(changes)
	c.announceKeywords(flags.Keywords)
	// Messages still in the view but no longer in the store (another
	// session expunged them) are neither in results nor in failed: the
	// STORE applies to what the session knows of them (gone.go).
	var goneDone []store.StoreResult
	if len(results)+len(failed) < len(uids) {
		c.payBarrier()
		have := make([]store.UID, 0, len(results)+len(failed))
		for _, r := range results {
			have = append(have, r.UID)
		}
		have = append(have, failed...)
		slices.Sort(have)
		var goneFailed []store.UID
		goneDone, goneFailed, err = c.storeGone(missingUIDs(uids, have), op, flags, unchangedSince)
		if err != nil {
			return err
		}
		if len(goneFailed) > 0 {
			failed = append(failed, goneFailed...)
			slices.Sort(failed)
		}
	}
	// Report the resulting flags of every message in the set (Dovecot
	// does the same), unless .SILENT. With CONDSTORE, .SILENT still
	// reports MODSEQ of changed messages (RFC 7162 §3.1.3).
	changed := make(map[store.UID]store.ModSeq, len(results))
	for _, r := range results {
		changed[r.UID] = r.ModSeq
	}
	isFailed := make(map[store.UID]bool, len(failed))
	for _, u := range failed {
		isFailed[u] = true
	}
	var wrote []store.UID
	if !silent || (c.condstore && len(results) > 0) {
		// The flags to report: the store's results when they cover the
		// whole set (they are the flags the STORE left, read under its
		// lock), else read again. Reading again costs a round trip on
		// a PostgreSQL store (docs/benchmarks.md, "Scale-out: where the
		// CPU goes").
		fetch := c.srv.cfg.Store.FetchMessages
		if len(goneDone) == 0 && len(results)+len(failed) == len(uids) {
			fetch = resultsFetcher(results)
		}
		err = fetch(c.ctx(), c.sel.mbox.ID, uids, store.FieldFlags, func(m *store.Message) error {
			if isFailed[m.UID] {
				return nil
			}
			wrote = append(wrote, m.UID)
			seq := c.sel.seqOf(m.UID)
			if seq == 0 {
				return nil
			}
			if silent {
				if _, ok := changed[m.UID]; !ok {
					return nil
				}
				c.writeFetchHead(seq, m.UID)
				// RFC 7162 §3.1: with CONDSTORE, UID is always included
				// (UIDFETCH names it already, RFC 9586 §3.3).
				if (uid || c.condstore) && !c.uidonly {
					c.enc.RawString("UID ").Number(uint32(m.UID)).SP()
				}
				c.enc.RawString("MODSEQ (").Number64(int64(m.ModSeq)).RawString("))").CRLF()
				return nil
			}
			c.announceKeywords(m.Flags.Keywords)
			c.writeFlagsFetch(seq, m.UID, m.Flags, m.ModSeq, uid || c.condstore)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if !silent {
		// expunged by another session after the STORE and before the
		// read: its tombstone has the flags the STORE gave it
		if len(wrote) < len(results) {
			stored := make([]store.UID, len(results))
			for i, r := range results {
				stored[i] = r.UID
			}
			slices.Sort(stored)
			late, err := c.goneFlags(missingUIDs(stored, wrote))
			if err != nil {
				return err
			}
			goneDone = append(goneDone, late...)
		}
		for _, r := range goneDone {
			c.announceKeywords(r.Flags.Keywords)
			c.writeFlagsFetch(c.sel.seqOf(r.UID), r.UID, r.Flags, r.ModSeq, uid || c.condstore)
		}
	}
	if len(failed) > 0 {
		set := make([]uint32, 0, len(failed))
		for _, u := range failed {
			if uid {
				set = append(set, uint32(u))
			} else {
				set = append(set, c.sel.seqOf(u))
			}
		}
		return c.ok(tag, "MODIFIED "+imap.NewUIDSet(set).String(), "Conditional STORE failed for some messages.")
	}
	return c.ok(tag, "", "Store completed.")
}

// storeRights checks RFC 4314 §4: changing \Seen needs "s", \Deleted
// "t", any other flag or keyword "w". Replacing the flags (FLAGS) may
// change every one of them.
func (c *Conn) storeRights(op store.FlagOp, flags store.Flags) error {
	var need mailbox.Rights
	if op == store.FlagsReplace {
		need = mailbox.RightSeen | mailbox.RightDeleteMsg | mailbox.RightWrite
	} else {
		if flags.System&store.FlagSeen != 0 {
			need |= mailbox.RightSeen
		}
		if flags.System&store.FlagDeleted != 0 {
			need |= mailbox.RightDeleteMsg
		}
		if flags.System&^(store.FlagSeen|store.FlagDeleted) != 0 || len(flags.Keywords) > 0 {
			need |= mailbox.RightWrite
		}
	}
	return c.needSel(need)
}

// resultsFetcher serves a FetchMessages of flags from StoreFlags'
// results: one Message per result, in UID order, as FetchMessages
// would read them back.
func resultsFetcher(results []store.StoreResult) func(context.Context, int64, []store.UID, store.Fields, func(*store.Message) error) error {
	return func(_ context.Context, mailboxID int64, _ []store.UID, _ store.Fields, fn func(*store.Message) error) error {
		sorted := slices.Clone(results)
		slices.SortFunc(sorted, func(a, b store.StoreResult) int { return cmp.Compare(a.UID, b.UID) })
		for _, r := range sorted {
			m := store.Message{MailboxID: mailboxID, UID: r.UID, ModSeq: r.ModSeq, Flags: r.Flags}
			if err := fn(&m); err != nil {
				return err
			}
		}
		return nil
	}
}
