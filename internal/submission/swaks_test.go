package submission_test

import (
	"os/exec"
	"strings"
	"testing"

	"barid/internal/testkit"
)

// swaks (the "Swiss Army Knife for SMTP"), a real client, submits
// through barid: STARTTLS on the 587-style listener and TLS on connect
// on the 465-style one (RFC 8314), AUTH PLAIN and LOGIN, PIPELINING;
// and gets 550 5.7.1 for a sender that is not the account's. Skips
// when swaks, or its TLS support (Net::SSLeay), is missing.
func TestSwaks(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed (apt-get install swaks): skipping the swaks test")
	}
	support, _ := exec.Command(swaks, "--support").CombinedOutput()
	hasTLS := strings.Contains(string(support), "=== TLS supported")
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr))
	srv.AddUser("alice", "wonderland")
	host, port587, _ := strings.Cut(srv.SubmissionAddr, ":")
	_, port465, _ := strings.Cut(srv.SubmissionsAddr, ":")

	run := func(args ...string) (string, error) {
		base := []string{"--server", host, "--auth-user", "alice", "--auth-password", "wonderland",
			"--to", "bob@example.org", "--header", "Subject: from swaks", "--body", "Sent by swaks.", "--timeout", "20"}
		out, err := exec.Command(swaks, append(base, args...)...).CombinedOutput()
		return string(out), err
	}
	type tcase struct {
		name string
		args []string
		tls  bool
	}
	cases := []tcase{
		{"plain-loopback-auth-login", []string{"--port", port587, "--auth", "LOGIN", "--from", "alice@localhost"}, false},
		{"starttls-plain-pipelining", []string{"--port", port587, "--tls", "--auth", "PLAIN", "--pipeline", "--from", "alice@localhost"}, true},
		{"tls-on-connect", []string{"--port", port465, "--tls-on-connect", "--auth", "PLAIN", "--from", "alice+swaks@localhost"}, true},
	}
	n := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.tls && !hasTLS {
				t.Skip("swaks has no TLS support (apt-get install libnet-ssleay-perl libio-socket-ssl-perl): skipping")
			}
			out, err := run(tc.args...)
			if err != nil {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			if !strings.Contains(out, "250 2.0.0 Ok: queued as SINK") {
				t.Fatalf("no relay 250 in swaks's dialogue:\n%s", out)
			}
			n++
			m := sink.WaitMessages(t, n)[n-1]
			if !strings.Contains(string(m.Data), "Subject: from swaks\r\n") || !strings.Contains(string(m.Data), "\r\n\r\nSent by swaks.\r\n") {
				t.Errorf("relayed message:\n%s", m.Data)
			}
		})
	}
	t.Run("foreign-sender", func(t *testing.T) {
		out, err := run("--port", port587, "--auth", "PLAIN", "--from", "mallory@example.org")
		if err == nil || !strings.Contains(out, "<** 550 5.7.1 Sender address <mallory@example.org> is not yours") {
			t.Fatalf("swaks (err %v):\n%s", err, out)
		}
	})
	t.Run("foreign-from-header", func(t *testing.T) {
		out, err := run("--port", port587, "--auth", "PLAIN", "--from", "alice@localhost", "--header", "From: Mallory <mallory@example.org>")
		if err == nil || !strings.Contains(out, "<** 550 5.7.1 From/Sender address <mallory@example.org> is not yours") {
			t.Fatalf("swaks (err %v):\n%s", err, out)
		}
	})
}
