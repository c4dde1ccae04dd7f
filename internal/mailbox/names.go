package mailbox

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Mailbox names (RFC 9051 §5.1): "/" is the hierarchy separator and
// INBOX is case-insensitive. Names are rows in the store, never file
// paths, so no name can reach outside the data folder; "." and ".."
// levels and control characters are still refused so that exports and
// tools never see them.

// Named limits on mailbox names.
const (
	MaxNameBytes = 1024 // bytes of UTF-8
	MaxNameDepth = 64   // hierarchy levels
)

// Kind classifies an *Error; protocols map it to their own codes (IMAP:
// RFC 5530 response codes).
type Kind uint8

const (
	KindCannot      Kind = iota + 1 // can never succeed: [CANNOT]
	KindLimit                       // a named limit: [LIMIT]
	KindExists                      // [ALREADYEXISTS]
	KindNoPerm                      // the ACL forbids it: [NOPERM]
	KindNonexistent                 // not there (a quota root): [NONEXISTENT]
)

// Error is a refusal by a mailbox rule, with a text for the client.
type Error struct {
	Kind Kind
	Text string
}

func (e *Error) Error() string { return e.Text }

// ErrNoPerm is a refusal by the ACL on a mailbox the user may see
// (RFC 4314 §4); on one they may not see, the error is
// store.ErrNoMailbox, as for a mailbox that does not exist.
var ErrNoPerm error = &Error{Kind: KindNoPerm, Text: "Permission denied"}

// IsNoPerm reports whether err is an ACL refusal.
func IsNoPerm(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindNoPerm
}

// Normalize maps INBOX's spellings to "INBOX" and checks the name; the
// name is already decoded (UTF-8).
func Normalize(name string) (string, error) {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	if len(name) >= 6 && strings.EqualFold(name[:6], "INBOX/") {
		name = "INBOX" + name[5:]
	}
	if name == "" {
		return "", &Error{KindCannot, "Empty mailbox name"}
	}
	if len(name) > MaxNameBytes {
		return "", &Error{KindLimit, "Mailbox name too long"}
	}
	if !utf8.ValidString(name) {
		return "", &Error{KindCannot, "Mailbox name is not valid UTF-8"}
	}
	parts := strings.Split(name, "/")
	if len(parts) > MaxNameDepth {
		return "", &Error{KindLimit, "Mailbox hierarchy too deep"}
	}
	for _, p := range parts {
		if p == "" {
			return "", &Error{KindCannot, "Mailbox name has an empty hierarchy level"}
		}
		if p == "." || p == ".." {
			return "", &Error{KindCannot, "Mailbox name may not contain \".\" or \"..\" levels"}
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '*' || r == '%' {
			return "", &Error{KindCannot, "Mailbox name contains a forbidden character"}
		}
	}
	return name, nil
}
