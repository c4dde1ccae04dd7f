package imap

import "strings"

// Response types for Error.Type (RFC 9051 §7.1).
const (
	TypeNO  = "NO"
	TypeBAD = "BAD"
	TypeBYE = "BYE"
)

// Error is a response the server sends as it is (docs/style.md §4): a tagged
// NO or BAD, or an untagged BYE, with an optional response code.
//
//	NO [TRYCREATE] Mailbox does not exist
//
// CodeArg is the code's argument, already in wire syntax (for example
// "38505 3955" for COPYUID, or "(UTF-8)" for BADCHARSET).
type Error struct {
	Type    string // "NO", "BAD" or "BYE"
	Code    string // response code without brackets, or ""
	CodeArg string // argument of the code, or ""
	Text    string // human-readable text
}

// Error renders the response the way it goes on the wire, minus the tag.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Type)
	if e.Code != "" {
		b.WriteString(" [")
		b.WriteString(e.Code)
		if e.CodeArg != "" {
			b.WriteByte(' ')
			b.WriteString(e.CodeArg)
		}
		b.WriteByte(']')
	}
	if e.Text != "" {
		b.WriteByte(' ')
		b.WriteString(e.Text)
	}
	return b.String()
}

// NoError returns a NO response with the given code ("" for none).
func NoError(code, text string) *Error { return &Error{Type: TypeNO, Code: code, Text: text} }

// BadError returns a BAD response with the given code ("" for none).
func BadError(code, text string) *Error { return &Error{Type: TypeBAD, Code: code, Text: text} }

// ByeError returns a BYE response with the given code ("" for none).
func ByeError(code, text string) *Error { return &Error{Type: TypeBYE, Code: code, Text: text} }
