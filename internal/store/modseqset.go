package store

import (
	"context"
	"fmt"
)

// ModSeqSetter is an optional store capability for barid store copy,
// which moves a store to another backend: it gives copied messages the
// MODSEQs they had in the source, so that a CONDSTORE/QRESYNC client's
// cached HIGHESTMODSEQ stays valid (RFC 7162 §3.1: a client may keep its
// cache while the mailbox's UIDVALIDITY is unchanged, and asks for the
// changes since the HIGHESTMODSEQ it saw, §3.1.4.1 and §3.2.5).
//
// SetModSeqs gives each listed message (uids ascending, each existing,
// else ErrNoMessage) the modseq of the same index, and raises the
// mailbox's HIGHESTMODSEQ to highest if it is lower (never lowers it).
// Every modseq must be non-zero and at most the resulting
// HIGHESTMODSEQ (RFC 7162 §3.1.1: a message's modseq never exceeds the
// mailbox's), else ErrCannot. uids may be empty to raise HIGHESTMODSEQ
// alone. It is meant for a store no client uses yet: lowering a
// message's modseq hides its change from a client that synced after it.
//
// SetTombstones records expunged messages of the source (RFC 7162
// §3.2.5.1: QRESYNC reports messages expunged since a client's modseq
// as VANISHED (EARLIER)), each UID with the modseq of its expunge and
// the flags it had (ExpungedFlags), replacing a tombstone the store
// already has for it. Each UID must be below UIDNEXT and not a message
// of the mailbox, each modseq non-zero and at most HIGHESTMODSEQ, else
// ErrCannot.
type ModSeqSetter interface {
	SetModSeqs(ctx context.Context, mailboxID int64, uids []UID, modseqs []ModSeq, highest ModSeq) error
	SetTombstones(ctx context.Context, mailboxID int64, tombs []StoreResult) error
}

// CheckTombstones checks SetTombstones's arguments against the
// mailbox's UIDNEXT and HIGHESTMODSEQ (whether a UID is a live message
// the store checks). Its errors wrap ErrCannot.
func CheckTombstones(uidNext UID, hms ModSeq, tombs []StoreResult) error {
	for _, tb := range tombs {
		switch {
		case tb.UID == 0 || tb.UID >= uidNext:
			return fmt.Errorf("%w: tombstone UID %d not below UIDNEXT %d", ErrCannot, tb.UID, uidNext)
		case tb.ModSeq == 0 || tb.ModSeq > hms:
			return fmt.Errorf("%w: tombstone MODSEQ %d of UID %d not in 1..HIGHESTMODSEQ %d", ErrCannot, tb.ModSeq, tb.UID, hms)
		}
	}
	return nil
}

// CheckSetModSeqs checks SetModSeqs's arguments against the mailbox's
// current HIGHESTMODSEQ hms and returns the HIGHESTMODSEQ it will have.
// Its errors wrap ErrCannot.
func CheckSetModSeqs(hms ModSeq, uids []UID, modseqs []ModSeq, highest ModSeq) (ModSeq, error) {
	if len(uids) != len(modseqs) {
		return 0, fmt.Errorf("%w: %d modseqs for %d UIDs", ErrCannot, len(modseqs), len(uids))
	}
	h := max(hms, highest)
	for i, u := range uids {
		switch {
		case u == 0 || i > 0 && u <= uids[i-1]:
			return 0, fmt.Errorf("%w: UIDs not strictly ascending non-zero numbers", ErrCannot)
		case modseqs[i] == 0:
			return 0, fmt.Errorf("%w: MODSEQ 0 for UID %d", ErrCannot, u)
		case modseqs[i] > h:
			return 0, fmt.Errorf("%w: MODSEQ %d of UID %d above HIGHESTMODSEQ %d", ErrCannot, modseqs[i], u, h)
		}
	}
	return h, nil
}
