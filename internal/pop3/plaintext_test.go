package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"barid/internal/auth"
)

type noAccounts struct{}

func (noAccounts) Secret(ctx context.Context, name string) (int64, []byte, error) {
	return 0, nil, auth.ErrUnknownUser
}

// On an unencrypted non-loopback connection USER, PASS and AUTH are
// refused with [AUTH] and CAPA offers neither USER nor SASL, only STLS
// (IMAP's rule: LOGINDISABLED), unless allow_plaintext_auth is set.
// net.Pipe gives a connection that is not loopback.
func TestPlaintextRefusedWithoutTLS(t *testing.T) {
	for _, allow := range []bool{false, true} {
		srv := New(Config{TLS: &tls.Config{}, AllowPlaintextAuth: allow,
			Auth: auth.New(noAccounts{}, auth.Config{FailureDelay: time.Millisecond}, nil)})
		client, server := net.Pipe()
		c := srv.newConn(server, false)
		go c.serve()
		client.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(client)
		line := func() string { l, _ := br.ReadString('\n'); return strings.TrimSuffix(l, "\r\n") }
		if g := line(); !strings.HasPrefix(g, "+OK") {
			t.Fatalf("greeting %q", g)
		}
		client.Write([]byte("CAPA\r\n"))
		var capa []string
		for l := line(); l != "."; l = line() {
			capa = append(capa, l)
		}
		caps := strings.Join(capa, "|")
		if !strings.Contains(caps, "|STLS|") {
			t.Errorf("allow=%v: no STLS in %q", allow, caps)
		}
		if strings.Contains(caps, "|USER|") != allow || strings.Contains(caps, "SASL") != allow {
			t.Errorf("allow=%v: CAPA %q", allow, caps)
		}
		for _, cmd := range []string{"USER alice", "PASS secret", "AUTH PLAIN AGFsaWNlAHNlY3JldA=="} {
			client.Write([]byte(cmd + "\r\n"))
			got := line()
			refused := strings.HasPrefix(got, "-ERR [AUTH] Plaintext authentication disallowed")
			if refused == allow {
				t.Errorf("allow=%v: %s = %q", allow, cmd, got)
			}
		}
		client.Close()
	}
}
