package server

import (
	"strconv"

	"barid/internal/imap"
	"barid/internal/store"
)

// UIDONLY (RFC 9586). Once a client has sent ENABLE UIDONLY:
//
//   - a command that takes message sequence numbers (FETCH, STORE,
//     SEARCH, SORT, THREAD, COPY, MOVE, REPLACE: the command table's
//     usesSeq entries) is refused with BAD [UIDREQUIRED] (§3, §3.2),
//     as is a sequence-set search key inside UID SEARCH, UID SORT,
//     UID THREAD and ESEARCH, and the sequence match data of SELECT's
//     QRESYNC parameter;
//   - no response carries a sequence number: "* n FETCH" becomes
//     "* uid UIDFETCH" (§3.3), with the UID data item only when the
//     client asked for it; EXPUNGE becomes VANISHED (RFC 7162 §3.2.10)
//     whether or not QRESYNC is on; SELECT's OK [UNSEEN n] is left out;
//   - EXISTS is still sent: it is a count, not a sequence number.
//
// The session keeps its sequence number map (view.uids) all the same:
// it costs 4 bytes a message and every other path relies on it.

// writeFetchHead starts a FETCH response: "* seq FETCH (", or
// "* uid UIDFETCH (" under UIDONLY (RFC 9586 §3.3).
func (c *Conn) writeFetchHead(seq uint32, uid store.UID) {
	if c.uidonly {
		c.enc.RawString("* ").Number(uint32(uid)).RawString(" UIDFETCH (")
		return
	}
	c.enc.RawString("* ").Number(seq).RawString(" FETCH (")
}

// appendFetchHead is writeFetchHead for a response built in a buffer.
func (c *Conn) appendFetchHead(b []byte, seq uint32, uid store.UID) []byte {
	b = append(b, "* "...)
	if c.uidonly {
		b = strconv.AppendUint(b, uint64(uid), 10)
		return append(b, " UIDFETCH ("...)
	}
	b = strconv.AppendUint(b, uint64(seq), 10)
	return append(b, " FETCH ("...)
}

// errUIDRequired is the answer to sequence numbers in a command's
// arguments under UIDONLY (RFC 9586 §3: tagged BAD with UIDREQUIRED).
func errUIDRequired(what string) error {
	return &imap.Error{Type: "BAD", Code: imap.CodeUIDRequired,
		Text: what + ": message sequence numbers are not allowed once UIDONLY is enabled (RFC 9586 §3)"}
}
