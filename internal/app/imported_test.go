package app_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"barid/internal/app"
	"barid/internal/auth"
	"barid/internal/config"
	"barid/internal/testkit"
)

// importedSHA512 is "secret" in Dovecot's SHA512-CRYPT (doveadm pw).
const importedSHA512 = "{SHA512-CRYPT}$6$U4vAsQcoUwCAoq0b$Qyc/ebcLzkxn8k9pNuSQQcQN1T1jAmb5JF97Zs1Aubh8DlcimvdCFoM2PLfeCW/9lVwi9tseyqf4d1JxxuVr/1"

// TestImportedHashRehashedAtLogin: builtin accounts made from hashes of
// another server (barid user add --hash: SHA512-CRYPT, DES crypt) log in
// over IMAP with their passwords; the first login replaces the stored
// hash with barid's argon2id secret, and the next logins (LOGIN and
// AUTHENTICATE PLAIN) use it. With [auth] rehash_on_login = false the
// hash stays.
func TestImportedHashRehashedAtLogin(t *testing.T) {
	ctx := context.Background()
	for _, rehash := range []bool{true, false} {
		t.Run(fmt.Sprintf("rehash_on_login=%v", rehash), func(t *testing.T) {
			s := testkit.StartAt(t, filepath.Join(t.TempDir(), "data"), withSources([]string{"builtin"}, func(c *config.Config) {
				c.Auth.RehashOnLogin = rehash
			}))
			st := s.App.Data().Store
			users := map[string]string{"sha@example.org": importedSHA512, "des@example.org": "{CRYPT}M06l3Lf14Iov."}
			for name, h := range users {
				if _, err := app.CreateAccountHashed(ctx, st, name, h, auth.SchemeLimits{}); err != nil {
					t.Fatal(err)
				}
			}
			for name, h := range users {
				c := s.Dial()
				testkit.MustHave(t, c.Cmd("W", "LOGIN "+name+" wrong"), `^W NO \[AUTHENTICATIONFAILED\]`)
				c = s.Dial()
				c.Login(name, "secret")
				c.ExpectOK("S", "SELECT INBOX")
				acct, err := st.Account(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if rehash {
					if !bytes.HasPrefix(acct.Secret, []byte("barid-secret 1\n")) || !bytes.Contains(acct.Secret, []byte("$argon2id$")) {
						t.Fatalf("%s: after the first login the secret is %q, want barid's argon2id secret", name, acct.Secret)
					}
				} else if string(acct.Secret) != h {
					t.Fatalf("%s: with rehash_on_login = false the secret became %q", name, acct.Secret)
				}
				c = s.Dial()
				c.ExpectOK("P", "AUTHENTICATE PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+name+"\x00secret")))
				c = s.Dial()
				testkit.MustHave(t, c.Cmd("W", "LOGIN "+name+" Secret"), `^W NO \[AUTHENTICATIONFAILED\]`)
			}
		})
	}
}

// TestPasswdFileDESCrypt: passwd-file users whose passwords are
// traditional DES crypt hashes (a {CRYPT} or {DES-CRYPT} prefix, or none
// with the default scheme CRYPT, as old Dovecot files have them) log in
// over IMAP; a wrong password is refused; the file, which belongs to its
// owner, is never rewritten (no re-hash of directory sources).
func TestPasswdFileDESCrypt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	var b strings.Builder
	users := map[string]string{}
	// crypt(3) of "secret" with the salt "M0" (doveadm pw -s DES-CRYPT).
	for _, l := range []string{"braced:{CRYPT}M06l3Lf14Iov.", "des:{DES-CRYPT}M06l3Lf14Iov.", "bare:M06l3Lf14Iov."} {
		name, h, _ := strings.Cut(l, ":")
		fmt.Fprintf(&b, "%s@example.org:%s:1000:1000::/home/x::\n", name, h)
		users[name+"@example.org"] = "secret"
	}
	if doveadm, err := exec.LookPath("doveadm"); err == nil {
		for i, pw := range []string{"Tr0ub4do", "p@ss w0"} {
			out, err := exec.Command(doveadm, "pw", "-s", "DES-CRYPT", "-p", pw).Output()
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("doveadm%d@example.org", i)
			fmt.Fprintf(&b, "%s:%s:1000:1000::/home/x::\n", name, strings.TrimSpace(string(out)))
			users[name] = pw
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testkit.StartAt(t, filepath.Join(dir, "data"), withSources([]string{"builtin", "passwd-file"}, func(c *config.Config) {
		c.Auth.PasswdFile.Path = path
	}))
	for name, pw := range users {
		c := s.Dial()
		c.Login(name, pw)
		c.ExpectOK("S", "SELECT INBOX")
		c = s.Dial()
		testkit.MustHave(t, c.Cmd("W", fmt.Sprintf("LOGIN %s %s", testkit.Quote(name), testkit.Quote("X"+pw))), `^W NO \[AUTHENTICATIONFAILED\]`)
	}
	if got, _ := os.ReadFile(path); string(got) != b.String() {
		t.Fatalf("the passwd-file was rewritten:\n%s", got)
	}
}

// TestOAuthTokenSizeLimitIMAP: a bearer token over [limits]
// oauth_token_size ends AUTHENTICATE with BAD naming the limit, before
// any provider is asked (none is reachable here); the connection goes
// on. POP3 AUTH and submission AUTH name it too.
func TestOAuthTokenSizeLimitIMAP(t *testing.T) {
	s := testkit.StartAt(t, filepath.Join(t.TempDir(), "data"), testkit.WithPOP3(), testkit.WithSubmission("127.0.0.1:1"), withSources([]string{"builtin"}, func(c *config.Config) {
		c.Auth.OAuth = config.OAuth{Issuer: "http://127.0.0.1:1/", Audience: "barid"}
		c.Limits.OAuthTokenSize = 1024
	}))
	lmtpAddUser(t, s.App.Data().Store, "alice@example.org", "pw")
	c := s.DialTLS()
	tok := strings.Repeat("a", 1025)
	testkit.MustHave(t, c.Cmd("A", "AUTHENTICATE OAUTHBEARER "+oauthBearerIR("", tok)), `^A BAD .*oauth_token_size \(1024 bytes\)`)
	testkit.MustHave(t, c.Cmd("B", "AUTHENTICATE XOAUTH2 "+xoauth2IR("alice@example.org", tok)), `^B BAD .*oauth_token_size`)
	c.Login("alice@example.org", "pw")

	p := s.DialPOP3TLS()
	if l := p.Cmd("AUTH OAUTHBEARER " + oauthBearerIR("", tok)); !strings.HasPrefix(l, "-ERR [AUTH]") || !strings.Contains(l, "oauth_token_size") {
		t.Errorf("POP3 AUTH with a token over the limit: %q", l)
	}
	cl, err := smtp.DialStartTLS(s.SubmissionAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.Auth(sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: "alice@example.org", Token: tok}))
	if got := smtpCode(err); got != "501 5.5.2" || !strings.Contains(err.Error(), "oauth_token_size") {
		t.Errorf("submission AUTH with a token over the limit: %v", err)
	}
}
