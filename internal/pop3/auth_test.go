package pop3_test

import (
	"crypto/tls"
	"encoding/base64"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// RFC 5034 AUTH with the SASL mechanisms IMAP uses: PLAIN with an
// initial response, PLAIN with "=" and then a challenge, LOGIN, a
// cancelled exchange and a wrong password ([AUTH], RFC 3206 §4).
func TestAuth(t *testing.T) {
	t.Parallel()
	f := start(t)
	c := f.DialPOP3()
	if got := c.Cmd("AUTH PLAIN " + b64("\x00"+user+"\x00wrong")); got != "-ERR [AUTH] Authentication failed." {
		t.Errorf("wrong password = %q", got)
	}
	if got := c.Cmd("AUTH PLAIN"); got != "+ " {
		t.Fatalf("AUTH PLAIN without initial response = %q", got)
	}
	if got := c.Cmd("*"); !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Errorf("cancelled = %q", got)
	}
	if got := c.Cmd("AUTH LOGIN"); got != "+ "+b64("Username:") {
		t.Fatalf("AUTH LOGIN = %q", got)
	}
	c.Cmd(b64(user))
	if got := c.Cmd(b64(pass)); got != "+OK Logged in." {
		t.Errorf("AUTH LOGIN = %q", got)
	}
	c.OK("QUIT")

	c = f.DialPOP3()
	if got := c.Cmd("AUTH PLAIN " + b64("\x00"+user+"\x00"+pass)); got != "+OK Logged in." {
		t.Errorf("AUTH PLAIN with initial response = %q", got)
	}
	c.OK("QUIT")
	c = f.DialPOP3()
	// "=" is an empty initial response (RFC 5034 §4), which PLAIN
	// cannot use (RFC 4616 §2): malformed, as in IMAP.
	if got := c.Cmd("AUTH PLAIN ="); got != "-ERR [AUTH] Malformed authentication exchange." {
		t.Errorf(`AUTH PLAIN "=" = %q`, got)
	}
	if st, body := c.Multi("AUTH"); st != "+OK" || !strings.Contains(body, "PLAIN\r\n") {
		t.Errorf("AUTH (mechanism list) = %q %q", st, body)
	}
	if got := c.Cmd("AUTH CRAM-MD5"); !strings.HasPrefix(got, "-ERR [AUTH] Unsupported") {
		t.Errorf("unknown mechanism = %q", got)
	}
	if got := c.Cmd("PASS " + pass); got != "-ERR No username given." {
		t.Errorf("PASS without USER = %q", got)
	}
	c.OK("USER " + user)
	if got := c.Cmd("PASS wrong"); got != "-ERR [AUTH] Authentication failed." {
		t.Errorf("PASS wrong = %q", got)
	}
	if got := c.Cmd("PASS " + pass); got != "-ERR No username given." {
		t.Errorf("PASS again after a failure = %q (USER must be given again)", got)
	}
}

// RFC 2595 §4 STLS: after the handshake, login works; what the client
// pipelined after STLS in the clear is dropped (CVE-2011-0411 class),
// and a second STLS is refused.
func TestSTLS(t *testing.T) {
	t.Parallel()
	f := start(t)
	c := f.DialPOP3()
	c.Send("STLS\r\nUSER injected\r\n")
	if got := c.Line(); got != "+OK Begin TLS negotiation now." {
		t.Fatalf("STLS = %q", got)
	}
	tc := tls.Client(c.NC, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.NC = tc
	c.BR.Reset(tc)
	if got := c.Cmd("PASS " + pass); got != "-ERR No username given." {
		t.Errorf("the plaintext USER pipelined after STLS was kept: %q", got)
	}
	if got := c.Cmd("STLS"); got != "-ERR TLS is already active" {
		t.Errorf("second STLS = %q", got)
	}
	st, body := c.Multi("CAPA")
	if st != "+OK Capability list follows" || strings.Contains(body, "STLS") || !strings.Contains(body, "SCRAM-SHA-256-PLUS") {
		t.Errorf("CAPA after STLS: %q", body)
	}
	c.Login(user, pass)
	c.OK("QUIT")
}

// A SCRAM-SHA-256 exchange driven by hand (RFC 7677 message shapes): the
// server's first challenge carries the client nonce.
func TestAuthSCRAMChallenge(t *testing.T) {
	t.Parallel()
	f := start(t)
	c := f.DialPOP3()
	got := c.Cmd("AUTH SCRAM-SHA-256 " + b64("n,,n="+user+",r=rOprNGfwEbeRWgbNEkqO"))
	if !strings.HasPrefix(got, "+ ") {
		t.Fatalf("SCRAM first = %q", got)
	}
	chal, err := base64.StdEncoding.DecodeString(got[2:])
	if err != nil || !strings.HasPrefix(string(chal), "r=rOprNGfwEbeRWgbNEkqO") || !strings.Contains(string(chal), ",s=") {
		t.Fatalf("server-first-message %q %v", chal, err)
	}
	if got := c.Cmd("*"); !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Errorf("cancel = %q", got)
	}
	if st, _ := c.Multi("CAPA"); st != "+OK Capability list follows" {
		t.Errorf("the session did not go on after a cancelled AUTH: %q", st)
	}
}
