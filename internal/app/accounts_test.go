package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/testkit"
)

// passwdSchemes are written into a passwd-file with doveadm pw when it
// is installed; the fixed lines below are used otherwise (and always).
var passwdSchemes = []string{"ARGON2ID", "ARGON2I", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "SSHA512",
	"SSHA", "PBKDF2", "CRAM-MD5", "PLAIN", "MD5-CRYPT", "CRYPT"}

// fixedPasswd: hashes of "secret" made with doveadm pw (Dovecot 2.3.19).
const fixedPasswd = `fixed-argon@example.org:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$K5t3H9FJ2nCnJJtqMqqlnA$XUTqLualIVK03Kn+sx9zZw2u+vJbZXO7rlL8lbj+ws4:1000:1000::/home/x::
fixed-sha512@example.org:{SHA512-CRYPT}$6$U4vAsQcoUwCAoq0b$Qyc/ebcLzkxn8k9pNuSQQcQN1T1jAmb5JF97Zs1Aubh8DlcimvdCFoM2PLfeCW/9lVwi9tseyqf4d1JxxuVr/1:1000:1000::/home/x::
fixed-cram@example.org:{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56:1000:1000::/home/x::
`

func writePasswd(t *testing.T, path string) (users map[string]string) {
	t.Helper()
	users = map[string]string{"fixed-argon@example.org": "secret", "fixed-sha512@example.org": "secret", "fixed-cram@example.org": "secret"}
	var b strings.Builder
	b.WriteString(fixedPasswd)
	if doveadm, err := exec.LookPath("doveadm"); err == nil {
		for _, s := range passwdSchemes {
			pw := "pw " + s
			out, err := exec.Command(doveadm, "pw", "-s", s, "-p", pw).Output()
			if err != nil {
				t.Fatalf("doveadm pw -s %s: %v", s, err)
			}
			name := strings.ToLower(s) + "@example.org"
			fmt.Fprintf(&b, "%s:%s:1000:1000::/home/%s::userdb_quota_rule=*:storage=1G\n", name, strings.TrimSpace(string(out)), s)
			users[name] = pw
		}
	} else {
		t.Log("doveadm not installed: passwd-file with the fixed hashes only")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return users
}

func withSources(sources []string, f func(c *config.Config)) testkit.Option {
	return func(c *config.Config) {
		c.Auth.Sources = sources
		c.LMTP.Listen = "127.0.0.1:0"
		c.LMTP.LocalDomains = []string{"example.org"}
		c.Auth.CacheTTL = config.Duration{}
		if f != nil {
			f(c)
		}
	}
}

func lmtpRcpt(t *testing.T, addr string, rcpts ...string) []error {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := smtp.NewClientLMTP(conn)
	defer cl.Close()
	if err := cl.Hello("test"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Mail("sender@example.net", nil); err != nil {
		t.Fatal(err)
	}
	var errs []error
	ok := 0
	for _, r := range rcpts {
		err := cl.Rcpt(r, nil)
		errs = append(errs, err)
		if err == nil {
			ok++
		}
	}
	if ok > 0 {
		w, err := cl.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "Subject: test\r\n\r\nhello\r\n")
		if _, err := w.CloseWithLMTPResponse(); err != nil {
			t.Fatalf("DATA: %v", err)
		}
	}
	return errs
}

func smtpCode(err error) string {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	if err == nil {
		return "250"
	}
	return err.Error()
}

// TestPasswdFileAccounts: users of a Dovecot passwd-file, one per
// doveadm scheme, log in over IMAP and POP3 and receive over LMTP by
// their address, an alias, a catch-all and a +detail; an unknown
// recipient gets 550 5.1.1.
func TestPasswdFileAccounts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	users := writePasswd(t, path)
	s := testkit.StartAt(t, filepath.Join(dir, "data"), testkit.WithPOP3(), withSources([]string{"builtin", "passwd-file"}, func(c *config.Config) {
		c.Auth.PasswdFile.Path = path
	}))
	for name, pw := range users {
		c := s.Dial()
		c.Login(name, pw)
		c.ExpectOK("S", "SELECT INBOX")
		c.Cmd("L2", "LOGOUT")
		c2 := s.Dial()
		lines := c2.Cmd("B", fmt.Sprintf("LOGIN %s %s", testkit.Quote(name), testkit.Quote(pw+"x")))
		testkit.MustHave(t, lines, `^B NO \[AUTHENTICATIONFAILED\]`)
	}
	p := s.DialPOP3()
	p.OK("USER fixed-sha512@example.org")
	p.OK("PASS secret")

	st := s.App.Data().Store
	ctx := context.Background()
	sha, err := st.Account(ctx, "fixed-sha512@example.org")
	if err != nil {
		t.Fatal(err)
	}
	argon, err := st.Account(ctx, "fixed-argon@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := app.AddAlias(ctx, st, "Sales@Example.org", "fixed-sha512@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := app.AddAlias(ctx, st, "@example.net", "fixed-argon@example.org"); err != nil {
		t.Fatal(err)
	}
	lmtpAddr := s.App.Addrs()["lmtp"]
	// One transaction per recipient: barid stores one copy per
	// destination mailbox and transaction.
	for _, c := range []struct{ rcpt, want string }{
		{"fixed-cram@example.org", "250"},
		{"sales@example.org", "250"},
		{"sales+news@example.org", "250"},
		{"anything@example.net", "250"},
		{"nobody@example.org", "550 5.1.1"},
		{"fixed-sha512+x@example.org", "250"},
	} {
		if got := smtpCode(lmtpRcpt(t, lmtpAddr, c.rcpt)[0]); got != c.want {
			t.Errorf("RCPT %s: %s, want %s", c.rcpt, got, c.want)
		}
	}
	// sha512: sales, sales+news, fixed-sha512+x; argon: the catch-all.
	if n := lmtpCount(t, st, sha, "INBOX"); n != 3 {
		t.Errorf("fixed-sha512 INBOX has %d messages, want 3", n)
	}
	if n := lmtpCount(t, st, argon, "INBOX"); n != 1 {
		t.Errorf("fixed-argon INBOX has %d messages, want 1", n)
	}
}

// TestDirectoryOutage: with the passwd-file gone (a source that cannot
// answer), IMAP says NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP], LMTP
// 451 4.3.0: nobody logs in and no recipient is refused as unknown.
func TestDirectoryOutage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	if err := os.WriteFile(path, []byte("alice@example.org:{PLAIN}pw::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testkit.StartAt(t, filepath.Join(dir, "data"), testkit.WithPOP3(), withSources([]string{"passwd-file", "builtin"}, func(c *config.Config) {
		c.Auth.PasswdFile.Path = path
		c.Auth.NegativeCacheTTL = config.Duration{}
	}))
	c := s.Dial()
	c.Login("alice@example.org", "pw")
	if got := smtpCode(lmtpRcpt(t, s.App.Addrs()["lmtp"], "nobody@example.org")[0]); got != "550 5.1.1" {
		t.Errorf("unknown recipient before the outage: %s", got)
	}
	os.Remove(path)
	c = s.Dial()
	lines := c.Cmd("A", "LOGIN alice@example.org pw")
	testkit.MustHave(t, lines, `^A NO \[UNAVAILABLE\]`)
	lines = c.Cmd("B", "LOGIN nobody@example.org pw")
	testkit.MustHave(t, lines, `^B NO \[UNAVAILABLE\]`)
	p := s.DialPOP3()
	p.OK("USER alice@example.org")
	if l := p.Cmd("PASS pw"); !strings.HasPrefix(l, "-ERR [SYS/TEMP]") {
		t.Errorf("POP3 PASS during outage: %q", l)
	}
	for i, err := range lmtpRcpt(t, s.App.Addrs()["lmtp"], "alice@example.org", "nobody@example.org") {
		if got := smtpCode(err); got != "451 4.3.0" {
			t.Errorf("RCPT %d during outage: %s, want 451 4.3.0", i, got)
		}
	}
}

// TestPasswdFileSubmission: a passwd-file user authenticates on the
// submission port (AUTH PLAIN after STARTTLS); with the file gone the
// answer is 454 4.7.0, not 535.
func TestPasswdFileSubmission(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	if err := os.WriteFile(path, []byte("alice@example.org:{SSHA}DqlHJqkJfHbhKjszv7YMhcYVQxqWO383::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testkit.StartAt(t, filepath.Join(dir, "data"), testkit.WithSubmission("127.0.0.1:1"), withSources([]string{"passwd-file"}, func(c *config.Config) {
		c.Auth.PasswdFile.Path = path
	}))
	auth := func(pw string) string {
		cl, err := smtp.DialStartTLS(s.SubmissionAddr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		return smtpCode(cl.Auth(sasl.NewPlainClient("", "alice@example.org", pw)))
	}
	if got := auth("secret"); got != "250" {
		t.Errorf("right password: %s", got)
	}
	if got := auth("wrong"); got != "535 5.7.8" {
		t.Errorf("wrong password: %s", got)
	}
	os.Remove(path)
	if got := auth("secret"); got != "454 4.7.0" {
		t.Errorf("passwd-file gone: %s, want 454 4.7.0", got)
	}
}
