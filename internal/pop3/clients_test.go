package pop3_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// TestPythonPoplib runs two sessions with Python's poplib as shipped
// (STLS, then POP3_SSL), pinned to barid's self-signed certificate.
func TestPythonPoplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: poplib interop test skipped")
	}
	t.Parallel()
	f := start(t)
	f.add("From: a@example.org\r\nSubject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n")
	// Stored with bare LFs: poplib must get the CRLF form.
	f.add("From: b@example.org\nSubject: two\n\nline 1\nline 2\nline 3\n")
	host, port, _ := net.SplitHostPort(f.POP3Addr)
	_, tlsPort, _ := net.SplitHostPort(f.POP3TLSAddr)
	out, err := exec.Command(py, "testdata/clients/poplib_session.py", host, port, tlsPort, f.CertFile(), user, pass).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib session failed: %v\n%s", err, out)
	}
	fl := f.flags()
	if len(fl) != 1 || !strings.HasSuffix(fl[0], `\Seen`) {
		t.Errorf("after poplib: %v (want the second message, \\Seen)", fl)
	}
}
