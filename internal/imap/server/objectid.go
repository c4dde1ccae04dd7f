package server

import (
	"barid/internal/imap"
	"barid/internal/search"
	"barid/internal/store"
)

// RFC 8474 OBJECTID.
//
//   - MAILBOXID (store.Mailbox.ObjectID): in CREATE's tagged OK
//     (§4.1), in SELECT and EXAMINE (§4.2), as a STATUS item (§4.3).
//     It is derived from UIDVALIDITY, which never repeats in a store and
//     survives RENAME, so the id does too.
//   - EMAILID (§5.1): random per delivered message, stored with it and
//     copied by COPY and MOVE (store.Message.EmailID).
//   - THREADID (§5.2): given at delivery from Message-ID, In-Reply-To
//     and References, per user across all the user's mailboxes, never
//     changed, copied by COPY and MOVE (store.Message.ThreadID; the
//     rules are in store/thread.go).
//   - SEARCH EMAILID / THREADID (§6).

// mailboxIDCode is the response code "MAILBOXID (<objectid>)".
func mailboxIDCode(mb *store.Mailbox) string {
	return imap.CodeMailboxID + " (" + mb.ObjectID() + ")"
}

// writeMailboxIDCode writes SELECT/EXAMINE's untagged OK with the
// mailbox's MAILBOXID (RFC 8474 §4.2).
func (c *Conn) writeMailboxIDCode(mb *store.Mailbox) {
	c.enc.RawString("* OK [").RawString(mailboxIDCode(mb)).RawString("] Ok").CRLF()
}

// parseObjectIDKey reads the objectid argument of the SEARCH keys
// EMAILID and THREADID (RFC 8474 §6: objectid = 1*255(ALPHA / DIGIT /
// "_" / "-")). An id this server never hands out matches nothing.
func (c *Conn) parseObjectIDKey(key string) (*search.Key, error) {
	var id string
	if !c.dec.ExpectSP() || !c.dec.ExpectAtom(&id) {
		return nil, c.dec.Err()
	}
	if !validObjectID(id) {
		return nil, &imap.Error{Type: imap.TypeBAD, Text: "Invalid objectid in " + key + " (RFC 8474: 1-255 letters, digits, _ and -)"}
	}
	if key == "THREADID" {
		n, _ := store.ParseThreadObjectID(id)
		return &search.Key{Op: search.OpThreadID, Num: n}, nil
	}
	n, _ := store.ParseEmailObjectID(id)
	return &search.Key{Op: search.OpEmailID, Num: n}, nil
}

func validObjectID(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-') {
			return false
		}
	}
	return true
}
