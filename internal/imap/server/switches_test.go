package server_test

import (
	"slices"
	"strings"
	"testing"

	"barid/internal/config"
)

// TestACLAndQuotaSwitches: [sharing] acl = false and [quota] enforce =
// false reach the IMAP server: NAMESPACE has no shared namespaces,
// SETACL is refused with CANNOT, and an APPEND over the storage limit
// is stored, with GETQUOTAROOT showing no limit; with the defaults the
// same APPEND is refused.
func TestACLAndQuotaSwitches(t *testing.T) {
	msg := "Subject: big\r\n\r\n" + string(make([]byte, 3000)) + "\r\n"
	appendCmd := "APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + msg
	off := startServer(t, func(c *config.Config) {
		c.Sharing.ACL = false
		c.Quota.Enforce = false
		c.Quota.Storage = 1024
	})
	off.addUser("ann", "pw")
	c := off.dial()
	c.login("ann", "pw")
	if got := c.expectOK("n", "NAMESPACE"); got[0] != `* NAMESPACE (("" "/")) NIL NIL` {
		t.Fatalf("NAMESPACE with ACLs off: %q", got)
	}
	if got := c.cmd("s", "SETACL INBOX bob lr"); got[len(got)-1] != "s NO [CANNOT] ACLs are turned off on this server ([sharing] acl = false)" {
		t.Fatalf("SETACL with ACLs off: %q", got)
	}
	c.expectOK("a", appendCmd)
	if got := c.expectOK("q0", "GETQUOTAROOT INBOX"); !slices.Contains(got, `* QUOTAROOT INBOX "User quota"`) {
		t.Fatalf("GETQUOTAROOT: %q", got)
	}
	if got := c.expectOK("q", "GETQUOTAROOT INBOX"); slices.ContainsFunc(got, func(l string) bool { return strings.Contains(l, "STORAGE") }) {
		t.Fatalf("GETQUOTAROOT with limits off shows a limit: %q", got)
	}

	on := startServer(t, func(c *config.Config) { c.Quota.Storage = 1024 })
	on.addUser("ann", "pw")
	c = on.dial()
	c.login("ann", "pw")
	if got := c.cmd("a", appendCmd); !strings.HasPrefix(got[len(got)-1], "a NO [OVERQUOTA]") {
		t.Fatalf("APPEND over quota with limits on: %q", got)
	}
}
