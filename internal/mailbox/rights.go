package mailbox

import (
	"strings"
)

// Rights is a set of RFC 4314 §2.1 rights.
type Rights uint16

// The rights of RFC 4314 §2.1, in the order of RightLetters.
const (
	RightLookup    Rights = 1 << iota // l: visible in LIST, may SUBSCRIBE
	RightRead                         // r: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from
	RightSeen                         // s: keep \Seen
	RightWrite                        // w: other flags and keywords
	RightInsert                       // i: APPEND, COPY/MOVE into
	RightPost                         // p: send mail to the submission address (LMTP user+folder)
	RightCreate                       // k: create inferiors, rename into
	RightDelete                       // x: DELETE the mailbox, RENAME it away
	RightDeleteMsg                    // t: set or clear \Deleted
	RightExpunge                      // e: EXPUNGE, MOVE from
	RightAdmin                        // a: SETACL, DELETEACL, GETACL, LISTRIGHTS
)

// RightLetters are the rights letters in canonical order.
const RightLetters = "lrswipkxtea"

// All is every right: what a mailbox's owner has.
const All Rights = 1<<len(RightLetters) - 1

// ParseRights reads rights letters (RFC 4314 §2.1). The obsolete "c"
// and "d" of RFC 2086 are accepted as RFC 4314 §2.1.1 says a server
// that announces RIGHTS= with them grouped must treat them: "c" is "k",
// "d" is "xte". A letter that is no right gives ok false.
func ParseRights(s string) (r Rights, ok bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 'c':
			r |= RightCreate
		case 'd':
			r |= RightDelete | RightDeleteMsg | RightExpunge
		default:
			j := strings.IndexByte(RightLetters, c)
			if j < 0 {
				return 0, false
			}
			r |= 1 << j
		}
	}
	return r, true
}

// String renders r in canonical order ("" for none).
func (r Rights) String() string {
	var b strings.Builder
	for i := 0; i < len(RightLetters); i++ {
		if r&(1<<i) != 0 {
			b.WriteByte(RightLetters[i])
		}
	}
	return b.String()
}

// Has reports whether r includes every right of need.
func (r Rights) Has(need Rights) bool { return r&need == need }
