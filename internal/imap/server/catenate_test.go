package server_test

import (
	"fmt"
	"strings"
	"testing"

	"barid/internal/config"
)

// RFC 4469 §5: the message CATENATE builds is held to APPENDLIMIT
// (literal_size) as a whole: a TEXT literal that would take it past the
// limit is refused before its "+", a URL part past it fails the
// command, and nothing is stored (all or nothing, in MULTIAPPEND too).
func TestCatenateTooBig(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Limits.LiteralSize = 2048 })
	ts.addUser("victim", "pw")
	c := ts.dial()
	c.login("victim", "pw")
	body := strings.Repeat("x", 998) + "\r\n" // 1000 bytes
	msg := "Subject: big\r\n\r\n" + body      // 1016 bytes
	c.expectOK("a1", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	c.expectOK("a2", fmt.Sprintf(`APPEND INBOX CATENATE (URL "/INBOX/;UID=1" TEXT {%d+}`+"\r\n%s)", len(body), body))

	// Non-synchronizing: the client sends everything; the server skips it.
	lines := c.cmd("a3", fmt.Sprintf(`APPEND INBOX CATENATE (URL "/INBOX/;UID=1" TEXT {%d+}`+"\r\n%s TEXT {%d+}\r\n%s)", len(body), body, len(body), body))
	mustHave(t, lines, `^a3 NO \[TOOBIG\] .*literal_size`)
	// Synchronizing: no "+" for the literal past the limit.
	lines = c.cmd("a4", fmt.Sprintf(`APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1" TEXT {%d}`, len(body)))
	mustNotHave(t, lines, `^\+`)
	mustHave(t, lines, `^a4 NO \[TOOBIG\]`)
	// A URL part past the limit.
	lines = c.cmd("a5", `APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=2")`)
	mustHave(t, lines, `^a5 NO \[TOOBIG\]`)
	// MULTIAPPEND: the first message fits, the second does not; neither
	// is stored.
	lines = c.cmd("a6", fmt.Sprintf(`APPEND INBOX CATENATE (TEXT {%d+}`+"\r\n%s) CATENATE (URL \"/INBOX/;UID=2\" URL \"/INBOX/;UID=1\")", len(msg), msg))
	mustHave(t, lines, `^a6 NO \[TOOBIG\]`)
	mustHave(t, c.expectOK("a7", "STATUS INBOX (MESSAGES)"), `MESSAGES 2\)`)
	stillServes(t, ts)
}
