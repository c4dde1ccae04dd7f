package pop3

import (
	"errors"
	"strconv"
	"strings"
)

// Command is one parsed command line (RFC 1939 §3): a keyword and the
// text after it.
type Command struct {
	// Name is the keyword in upper case.
	Name string
	// Arg is everything after the keyword and the single space that
	// follows it, unchanged: PASS keeps spaces inside a password
	// (RFC 1939 §7 allows it), AUTH keeps its initial response.
	Arg string
}

// Args splits Arg on spaces (runs of spaces count as one).
func (c Command) Args() []string { return strings.Fields(c.Arg) }

// Parse errors. The server answers each with -ERR and the text.
var (
	ErrEmptyLine  = errors.New("empty command line")
	ErrBadKeyword = errors.New("invalid command keyword")
)

// maxKeyword is the longest keyword accepted. RFC 1939 §3 keywords are
// three or four characters; RFC 2449 §3 allows extension keywords of
// up to four. Longer tokens are refused without looking further.
const maxKeyword = 4

// ParseCommand parses one command line without its line end (a trailing
// CR or CRLF is removed). It never reads from the connection and keeps
// no state, so it can be fuzzed on its own.
func ParseCommand(line []byte) (Command, error) {
	s := string(line)
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return Command{}, ErrEmptyLine
	}
	name, arg, _ := strings.Cut(s, " ")
	if len(name) == 0 || len(name) > maxKeyword {
		return Command{}, ErrBadKeyword
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !('A' <= b && b <= 'Z' || 'a' <= b && b <= 'z') {
			return Command{}, ErrBadKeyword
		}
	}
	return Command{Name: strings.ToUpper(name), Arg: arg}, nil
}

// parseMsgNum parses a message-number argument (RFC 1939 §5: a decimal
// number, 1 for the first message) without a sign or spaces. It returns
// 0 and the reason when s is not one.
func parseMsgNum(s string) (int, string) {
	if s == "" {
		return 0, "Missing message number"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, "Invalid message number: " + clip(s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, "Message number too large: " + clip(s)
	}
	if n == 0 {
		return 0, "There's no message 0."
	}
	return int(n), ""
}

// parseCount parses TOP's line count: a non-negative decimal number.
func parseCount(s string) (int64, string) {
	if s == "" {
		return 0, "Missing line count"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, "Invalid line count: " + clip(s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 63)
	if err != nil {
		return 0, "Line count too large: " + clip(s)
	}
	return n, ""
}

// clip shortens client text echoed in an error.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
