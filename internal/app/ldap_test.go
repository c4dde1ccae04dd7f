package app_test

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"barid/internal/config"
	"barid/internal/testkit"
)

func ssha(pw string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	h := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

// ldapOU makes a fresh ou under the scripts/ci-ldap server's suffix with
// the given users (uid → attributes), or skips without BARID_TEST_LDAP.
func ldapOU(t *testing.T, users map[string]map[string][]string) (url, base string) {
	t.Helper()
	url = os.Getenv("BARID_TEST_LDAP")
	if url == "" {
		t.Skip("BARID_TEST_LDAP not set: no OpenLDAP server (start one with: . scripts/ci-ldap)")
	}
	c, err := ldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(os.Getenv("BARID_TEST_LDAP_ADMIN"), os.Getenv("BARID_TEST_LDAP_PASSWORD")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	ou := "app" + hex.EncodeToString(b)
	base = "ou=" + ou + "," + os.Getenv("BARID_TEST_LDAP_BASE")
	add := func(dn string, attrs map[string][]string) {
		req := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		if err := c.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	add(base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {ou}})
	for uid, attrs := range users {
		a := map[string][]string{"objectClass": {"inetOrgPerson", "baridMailUser"}, "uid": {uid}, "cn": {uid}, "sn": {uid}}
		for k, v := range attrs {
			a[k] = v
		}
		add("uid="+uid+","+base, a)
	}
	return url, base
}

func withLDAP(url, base string, sources ...string) testkit.Option {
	return withSources(sources, func(c *config.Config) {
		c.Auth.LDAP = config.LDAP{URL: url, BaseDN: base, QuotaAttribute: "mailQuota",
			EnabledAttribute: "mailEnabled", Timeout: config.Duration{Duration: 2e9}}
	})
}

// TestLDAPAccounts: directory users log in over IMAP with their uid or
// address, receive over LMTP by mail and mailAlternateAddress, the
// disabled one neither logs in nor receives, an injection attempt logs
// in nobody, and an unknown address gets 550 5.1.1.
func TestLDAPAccounts(t *testing.T) {
	url, base := ldapOU(t, map[string]map[string][]string{
		"alice": {"userPassword": {ssha("alice-pw")}, "mail": {"alice@example.org"},
			"mailAlternateAddress": {"a.smith@example.org"}, "mailQuota": {"5M"}, "mailEnabled": {"TRUE"}},
		"bob": {"userPassword": {ssha("bob-pw")}, "mail": {"bob@example.org"}, "mailEnabled": {"FALSE"}},
	})
	s := testkit.StartAt(t, filepath.Join(t.TempDir(), "data"), testkit.WithPOP3(), withLDAP(url, base, "builtin", "ldap"))
	c := s.Dial()
	c.Login("alice", "alice-pw")
	c.ExpectOK("S", "SELECT INBOX")
	c = s.Dial()
	c.Login("alice@example.org", "alice-pw")
	c = s.Dial()
	testkit.MustHave(t, c.Cmd("B", "LOGIN bob bob-pw"), `^B NO \[AUTHENTICATIONFAILED\]`)
	testkit.MustHave(t, c.Cmd("C", `LOGIN "*)(uid=*" alice-pw`), `^C NO \[AUTHENTICATIONFAILED\]`)
	testkit.MustHave(t, c.Cmd("D", `LOGIN alice wrong`), `^D NO \[AUTHENTICATIONFAILED\]`)
	p := s.DialPOP3()
	p.OK("USER alice@example.org")
	p.OK("PASS alice-pw")

	lmtpAddr := s.App.Addrs()["lmtp"]
	for _, c := range []struct{ rcpt, want string }{
		{"alice@example.org", "250"},
		{"A.Smith@example.org", "250"},
		{"a.smith+lists@example.org", "250"},
		{"bob@example.org", "550 5.1.1"},
		{"nobody@example.org", "550 5.1.1"},
		{"*@example.org", "550 5.1.1"},
	} {
		if got := smtpCode(lmtpRcpt(t, lmtpAddr, c.rcpt)[0]); got != c.want {
			t.Errorf("RCPT %s: %s, want %s", c.rcpt, got, c.want)
		}
	}
	st := s.App.Data().Store
	acct, err := st.Account(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n := lmtpCount(t, st, acct, "INBOX"); n != 3 {
		t.Errorf("alice's INBOX: %d messages, want 3", n)
	}
	if acct.QuotaBytes != 5<<20 {
		t.Errorf("alice's quota %d, want the directory's 5M", acct.QuotaBytes)
	}
	// A quota changed in the directory reaches the store at the next
	// login (the cache is off in this test).
	lc, err := ldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	if err := lc.Bind(os.Getenv("BARID_TEST_LDAP_ADMIN"), os.Getenv("BARID_TEST_LDAP_PASSWORD")); err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest("uid=alice,"+base, nil)
	mod.Replace("mailQuota", []string{"7M"})
	if err := lc.Modify(mod); err != nil {
		t.Fatal(err)
	}
	s.Dial().Login("alice", "alice-pw")
	if acct, err = st.Account(t.Context(), "alice"); err != nil || acct.QuotaBytes != 7<<20 {
		t.Errorf("after the directory change: quota %d, %v; want 7M", acct.QuotaBytes, err)
	}
}

// TestLDAPOutageServer: a directory that does not answer gives IMAP
// NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP] and LMTP 451 4.3.0, even for
// names the builtin accounts after it would know.
func TestLDAPOutageServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ldap://" + ln.Addr().String()
	ln.Close()
	s := testkit.StartAt(t, filepath.Join(t.TempDir(), "data"), testkit.WithPOP3(), withLDAP(url, "dc=example,dc=org", "ldap", "builtin"))
	lmtpAddUser(t, s.App.Data().Store, "carol@example.org", "pw")
	c := s.Dial()
	testkit.MustHave(t, c.Cmd("A", "LOGIN alice pw"), `^A NO \[UNAVAILABLE\]`)
	testkit.MustHave(t, c.Cmd("B", "LOGIN carol@example.org pw"), `^B NO \[UNAVAILABLE\]`)
	p := s.DialPOP3()
	p.OK("USER alice")
	if l := p.Cmd("PASS pw"); len(l) < 15 || l[:15] != "-ERR [SYS/TEMP]" {
		t.Errorf("POP3 PASS: %q", l)
	}
	for _, r := range []string{"alice@example.org", "carol@example.org"} {
		if got := smtpCode(lmtpRcpt(t, s.App.Addrs()["lmtp"], r)[0]); got != "451 4.3.0" {
			t.Errorf("RCPT %s: %s, want 451 4.3.0", r, got)
		}
	}
}
