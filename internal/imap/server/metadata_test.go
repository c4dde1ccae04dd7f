package server_test

import (
	"strings"
	"testing"

	"barid/internal/config"
	"barid/internal/testkit"
)

func init() {
	// Fuzz seeds for the QUOTA and METADATA commands (fuzz_test.go).
	commandSeeds = append(commandSeeds,
		"a GETQUOTAROOT INBOX\r\na GETQUOTA \"User quota\"\r\na SETQUOTA \"User quota\" (STORAGE 1 MESSAGE 2)\r\n",
		"a SETMETADATA INBOX (/private/comment {3+}\r\nabc /shared/x ~{2+}\r\nab /shared/y NIL)\r\n",
		"a GETMETADATA (MAXSIZE 10 DEPTH infinity) \"\" (/shared /private/vendor)\r\na GETMETADATA (DEPTH 1) INBOX /private\r\n",
	)
}

// The [metadata] limits, each with its RFC 5464 §4.3 response code:
// max_size ([METADATA MAXSIZE n], before the "+" of a literal),
// max_entries and max_server_entries ([METADATA TOOMANY]), and
// max_total_size ([METADATA TOOMANY]). A refused SETMETADATA stores
// nothing.
func TestMetadataLimits(t *testing.T) {
	ts := startServer(t, testkit.Option(func(c *config.Config) {
		c.Metadata = config.Metadata{MaxSize: 10, MaxEntries: 3, MaxServerEntries: 2, MaxTotalSize: 25}
	}))
	ts.addUser("alice", "pw")
	c := ts.dial()
	c.login("alice", "pw")
	mustHave(t, c.cmd("a1", `SETMETADATA INBOX (/shared/a "0123456789a")`), `^a1 NO \[METADATA MAXSIZE 10\] Metadata value too large \(max_size 10 bytes\)$`)
	c.send("a2 SETMETADATA INBOX (/shared/a {11}\r\n")
	if l := c.readLine(); l != "a2 NO [METADATA MAXSIZE 10] Metadata value too large (max_size 10 bytes)" {
		t.Fatalf("over-size literal: %q, want the NO before any +", l)
	}
	mustHave(t, c.cmd("a3", "SETMETADATA INBOX (/shared/a ~{11+}\r\n0123456789a)"), `^a3 NO \[METADATA MAXSIZE 10\] `)
	// literal8 within the limit is fine.
	c.expectOK("a4", "SETMETADATA INBOX (/shared/a ~{10+}\r\n0123456789 /shared/b \"x\")")
	mustHave(t, c.cmd("a5", `SETMETADATA INBOX (/shared/c "y" /private/d "z")`), `^a5 NO \[METADATA TOOMANY\] .*limit 3 \(\[metadata\] max_entries\)$`)
	mustHave(t, c.expectOK("a6", `GETMETADATA (DEPTH infinity) INBOX (/shared /private)`), `^\* METADATA INBOX \(/shared/a "0123456789" /shared/b "x"\)$`)
	c.expectOK("a7", `SETMETADATA INBOX (/shared/c "0123456789")`)
	mustHave(t, c.cmd("a8", `SETMETADATA INBOX (/shared/b "0123456789")`), `^a8 NO \[METADATA TOOMANY\] .*limit 25 \(\[metadata\] max_total_size\)$`)
	// Removing is always possible, and makes room.
	c.expectOK("a9", `SETMETADATA INBOX (/shared/c NIL)`)
	c.expectOK("a10", `SETMETADATA INBOX (/private/d "z")`)
	c.expectOK("a11", `SETMETADATA "" (/private/a "1" /shared/b "2")`)
	mustHave(t, c.cmd("a12", `SETMETADATA "" (/private/c "3")`), `^a12 NO \[METADATA TOOMANY\] .*limit 2 \(\[metadata\] max_server_entries\)$`)
	mustHave(t, c.expectOK("a13", `GETMETADATA (DEPTH infinity) "" (/private /shared)`), `^\* METADATA "" \(/private/a "1" /shared/b "2"\)$`)
	// The connection is still in step after the refused literal.
	mustHave(t, c.expectOK("a14", "NOOP"), `^a14 OK`)
	if strings.Contains(strings.Join(c.expectOK("a15", "CAPABILITY"), " "), "QUOTASET") {
		t.Fatal("QUOTASET announced to a non-admin")
	}
}
