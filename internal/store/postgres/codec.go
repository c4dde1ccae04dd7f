package postgres

import (
	"strings"
	"time"

	"barid/internal/store"
)

// Keywords are stored as one space-separated text column in their sorted
// order: IMAP keywords are atoms and cannot contain a space
// (RFC 9051 §9, flag-keyword = atom).
func encodeKeywords(ks []string) string { return strings.Join(ks, " ") }

func decodeKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// encodeTime is store/sqlite's time encoding, so the two backends hold
// the same values: whole seconds and the zone offset, because IMAP shows
// INTERNALDATE in the zone the client gave (RFC 9051 §2.3.3) and SENTON
// compares dates in the Date: header's own zone. The value is unix
// seconds << 16 | (offset minutes + 0x8000), so integer order is still
// time order. The zero time is NULL so that a real 1970-01-01 survives.
func encodeTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	_, off := t.Zone()
	v := t.Unix()<<16 | int64(off/60+0x8000)&0xffff
	return &v
}

func decodeTime(v *int64) time.Time {
	if v == nil {
		return time.Time{}
	}
	sec := *v >> 16
	off := int(*v&0xffff) - 0x8000
	if off == 0 {
		return time.Unix(sec, 0).UTC()
	}
	return time.Unix(sec, 0).In(time.FixedZone("", off*60))
}

// normalizeName spells INBOX, and the INBOX component of its inferiors,
// in upper case (RFC 9051 §5.1: INBOX is case-insensitive). Every other
// name is case-sensitive and kept as given.
func normalizeName(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") && (len(name) == 5 || name[5] == '/') {
		return "INBOX" + name[5:]
	}
	return name
}

// unseenDeleted returns the counter contributions of one message.
func unseenDeleted(f store.SysFlags) (unseen, deleted int64) {
	if f&store.FlagSeen == 0 {
		unseen = 1
	}
	if f&store.FlagDeleted != 0 {
		deleted = 1
	}
	return
}

func normFlags(f store.Flags) store.Flags { return store.FlagsFromNames(f.Names()) }
