package wire

import "strconv"

// SyntaxError is a malformed command. The server answers it with
// "BAD [CLIENTBUG] " + Msg (docs/style.md §4) and then calls
// Decoder.DiscardLine.
type SyntaxError struct {
	Msg string
}

func (e *SyntaxError) Error() string { return "syntax error: " + e.Msg }

// LimitError is a command that exceeds a configured limit. Limit is the
// limit's name: "line_length", "literal_size", "string_literal",
// "string_literal_total" or "nesting_depth".
type LimitError struct {
	Limit string
	Max   int64
}

func (e *LimitError) Error() string {
	unit := " bytes"
	if e.Limit == LimitNestingDepth {
		unit = ""
	}
	return e.Limit + " limit exceeded (max " + strconv.FormatInt(e.Max, 10) + unit + ")"
}

// Limit names carried by LimitError.
const (
	LimitLineLength         = "line_length"
	LimitLiteralSize        = "literal_size"
	LimitStringLiteral      = "string_literal"
	LimitStringLiteralTotal = "string_literal_total"
	LimitNestingDepth       = "nesting_depth"
)
