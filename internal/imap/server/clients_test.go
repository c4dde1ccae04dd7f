package server_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPythonImaplib runs a whole session with Python's imaplib over
// STARTTLS, pinned to barid's generated self-signed certificate.
func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: imaplib interop test skipped")
	}
	ts := startServer(t)
	ts.addUser("pyuser", "py secret")
	host, port := splitHostPort(t, ts.addr)
	cert := filepath.Join(ts.dataDir, "tls", "cert.pem")
	out, err := exec.Command(py, "testdata/clients/imaplib_session.py", host, port, cert, "pyuser", "py secret").CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib session failed: %v\n%s", err, out)
	}
}
