package oracle

import (
	"testing"

	"barid/internal/testkit"
)

// startDovecot starts the oracle with the given users (password "pw").
func startDovecot(t *testing.T, users []string) *testkit.Dovecot {
	return testkit.StartDovecot(t, testkit.DovecotOptions{Users: users})
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
