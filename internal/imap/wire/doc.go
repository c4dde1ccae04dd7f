// Package wire is the IMAP wire codec: a streaming Decoder for client
// commands and a chainable Encoder for server responses (RFC 9051 §4 and
// the formal syntax in §9, with the extensions listed on each method).
//
// The Decoder reads from a *bufio.Reader it is given and never touches a
// socket otherwise, never changes session state, and keeps a sticky
// error: every method returns a bool, and Err returns the first error.
// Methods without the "Expect" prefix are optional: when the next token
// is not of the wanted kind they return false without consuming anything
// and without setting an error. Expect* methods set a *SyntaxError
// instead. All work is bounded by named limits (Options): line length,
// literal size, string-literal size, nesting depth. Nesting is never
// handled by unbounded recursion.
//
// Literals reach the server through the Options.Continue hook, which is
// called after the size checks and before any literal byte is read; the
// server writes "+ Ready" there for synchronizing literals.
//
// The Encoder writes to a *bufio.Writer, is chainable, and keeps a sticky
// error too. Neither type is safe for concurrent use.
package wire
