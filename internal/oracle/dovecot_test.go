package oracle

import (
	"os"
	"testing"

	"barid/internal/testkit"
)

// startDovecot starts the oracle with the given users (password "pw"),
// with the ACL plugin and the namespaces barid has by default (RFC 2342:
// other users under "Other Users/", public under "Shared/"), so NAMESPACE
// and the ACL commands compare.
func startDovecot(t *testing.T, users []string) *testkit.Dovecot {
	pub, err := os.MkdirTemp("", "barid-oracle-public-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(pub, 0o777)
	t.Cleanup(func() { os.RemoveAll(pub) })
	return testkit.StartDovecot(t, testkit.DovecotOptions{Users: users, Extra: dovecotACL(pub)})
}

// dovecotACL is the Dovecot configuration for RFC 4314 ACLs with shared
// and public namespaces (Dovecot's acl and imap_acl plugins).
func dovecotACL(publicDir string) string {
	return `mail_plugins = $mail_plugins acl
protocol imap {
  mail_plugins = $mail_plugins imap_acl
}
plugin {
  acl = vfile
}
namespace shared {
  type = shared
  separator = /
  prefix = Other Users/%%u/
  location = maildir:%h/../%%u:INDEXPVT=~/shared/%%u
  subscriptions = no
  list = children
}
namespace public {
  type = public
  separator = /
  prefix = Shared/
  location = maildir:` + publicDir + `:INDEXPVT=~/public
  subscriptions = no
  list = children
}
`
}

// startBarid starts barid in-process with the given users (password "pw").
func startBarid(t *testing.T, users []string) string {
	t.Helper()
	s := testkit.Start(t, testkit.WithoutTLSListener())
	for _, u := range users {
		s.AddUser(u, "pw")
	}
	return s.Addr
}

// session is a raw client whose lines carry their literals inline.
type session struct{ *testkit.Conn }

func dialSession(t *testing.T, addr string) *session {
	c := testkit.DialAddr(t, addr)
	c.EscapeLiterals = true
	return &session{c}
}

// run sends one command (which may contain {N+} literals) and returns
// the response lines.
func (s *session) run(tag, cmd string) []string { return s.Cmd(tag, cmd) }
