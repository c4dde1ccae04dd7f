package server

import (
	"cmp"
	"slices"
	"strings"

	"barid/internal/store"
)

// Messages another session expunged that this session has not been told
// of yet (its EXPUNGE waits for a command that may carry it, RFC 9051
// §7.5.1) are still in the view. RFC 2180 §4.2 lets a STORE on one
// either fail or succeed; Dovecot answers it, and a FETCH of its FLAGS,
// with the flags the session still knows, and so does barid: the flags
// the message had when it was expunged (its tombstone,
// store.ExpungedFlags), changed by this session's own STOREs since
// (view.gone), until the EXPUNGE is reported.

// missingUIDs returns, ascending, the UIDs of want (ascending) that are
// not in have (ascending).
func missingUIDs(want, have []store.UID) []store.UID {
	var out []store.UID
	j := 0
	for _, u := range want {
		for j < len(have) && have[j] < u {
			j++
		}
		if j < len(have) && have[j] == u {
			continue
		}
		out = append(out, u)
	}
	return out
}

// goneFlags returns, ascending, the flags this session still knows of
// the listed messages that are gone from the store: its own STOREs' if
// any, else the tombstone's. UIDs without a tombstone are left out.
func (c *Conn) goneFlags(uids []store.UID) ([]store.StoreResult, error) {
	v := c.sel
	var out, ask []store.UID
	for _, u := range uids {
		if v.seqOf(u) == 0 {
			continue
		}
		if _, ok := v.gone[u]; ok {
			out = append(out, u)
		} else {
			ask = append(ask, u)
		}
	}
	res := make([]store.StoreResult, 0, len(out)+len(ask))
	for _, u := range out {
		res = append(res, v.gone[u])
	}
	if len(ask) > 0 {
		t, err := c.srv.cfg.Store.ExpungedFlags(c.ctx(), v.mbox.ID, ask)
		if err != nil {
			return nil, err
		}
		res = append(res, t...)
		slices.SortFunc(res, func(a, b store.StoreResult) int { return cmp.Compare(a.UID, b.UID) })
	}
	return res, nil
}

// storeGone applies a STORE to messages gone from the store but still in
// the view (RFC 2180 §4.2, as Dovecot): the change is kept in the view
// only, and UNCHANGEDSINCE (RFC 7162 §3.1.3) compares with the modseq the
// session knows. It returns the new flags of each, and those that failed
// UNCHANGEDSINCE.
func (c *Conn) storeGone(uids []store.UID, op store.FlagOp, flags store.Flags, unchangedSince store.ModSeq) (done []store.StoreResult, failed []store.UID, err error) {
	known, err := c.goneFlags(uids)
	if err != nil {
		return nil, nil, err
	}
	v := c.sel
	// the mailbox's spelling of each keyword (RFC 9051 §2.3.2), which
	// the view knows once announced
	arg := store.Flags{System: flags.System}
	for _, k := range flags.Keywords {
		if s, ok := v.keywords[strings.ToLower(k)]; ok {
			k = s
		}
		arg.Keywords = append(arg.Keywords, k)
	}
	if v.gone == nil {
		v.gone = make(map[store.UID]store.StoreResult)
	}
	for _, k := range known {
		if unchangedSince > 0 && k.ModSeq > unchangedSince {
			failed = append(failed, k.UID)
			continue
		}
		r := store.StoreResult{UID: k.UID, ModSeq: k.ModSeq, Flags: op.Apply(k.Flags, arg)}
		v.gone[k.UID] = r
		done = append(done, r)
	}
	return done, failed, nil
}

// fromView reports whether a FETCH asks only for what the session knows
// of a message gone from the store: UID, FLAGS and MODSEQ.
func (req *fetchReq) fromView() bool {
	if len(req.items) == 0 || req.setSeen {
		return false
	}
	for _, it := range req.items {
		switch it.kind {
		case fUID, fFlags, fModSeq:
		default:
			return false
		}
	}
	return true
}

// fetchGone answers a FETCH of UID, FLAGS and MODSEQ for the listed
// messages gone from the store, as Dovecot does, and reports whether
// some of them could not be answered.
func (c *Conn) fetchGone(uids []store.UID, req *fetchReq) (unanswered bool, err error) {
	known, err := c.goneFlags(uids)
	if err != nil {
		return false, err
	}
	for i := range known {
		k := &known[i]
		if req.hasChangedSinc && k.ModSeq <= req.changedSince {
			continue
		}
		m := store.Message{MailboxID: c.sel.mbox.ID, UID: k.UID, ModSeq: k.ModSeq, Flags: k.Flags}
		if err := c.writeFetchResponse(&m, req, false); err != nil {
			return false, err
		}
	}
	return len(known) < len(uids), nil
}
