package oracle

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/testkit"
)

// dovecotPOP3 starts a private Dovecot (Debian's dovecot-pop3d and
// dovecot-imapd) with IMAP and POP3 on loopback ports, one user "pop"
// with password "pw", mail in maildir (LF line ends on disk, as Dovecot
// stores it). It returns the IMAP and POP3 addresses.
func dovecotPOP3(t *testing.T) (imapAddr, popAddr string) {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		t.Skip("Dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d): POP3 oracle skipped")
	}
	if _, err := os.Stat("/usr/lib/dovecot/pop3"); err != nil {
		t.Skip("dovecot-pop3d is not installed: POP3 oracle skipped")
	}
	d, err := os.MkdirTemp("", "barid-pop3-oracle-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	os.Chmod(d, 0o755)
	for _, sub := range []string{"run", "state", "mail", "log"} {
		os.MkdirAll(filepath.Join(d, sub), 0o755)
	}
	mailUser, loginUser, internalUser := "barbench", "dovenull", "dovecot"
	if os.Getuid() != 0 {
		u, _ := user.Current()
		mailUser, loginUser, internalUser = u.Username, u.Username, u.Username
	} else if _, err := user.Lookup(mailUser); err != nil {
		exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", mailUser).Run()
	}
	mu, err := user.Lookup(mailUser)
	if err != nil {
		t.Skipf("no mail user for Dovecot: %v", err)
	}
	uid, _ := strconv.Atoi(mu.Uid)
	gid, _ := strconv.Atoi(mu.Gid)
	os.Chown(filepath.Join(d, "mail"), uid, gid)
	os.WriteFile(filepath.Join(d, "passwd"), []byte("pop:{PLAIN}pw\n"), 0o644)
	imapPort, popPort := freePort(t), freePort(t)
	// Dovecot's POP3 defaults are kept: pop3_uidl_format %08Xu%08Xv,
	// no pop3_lock_session, \Seen set by RETR.
	conf := fmt.Sprintf(`instance_name = barid-pop3-oracle-%[7]d
base_dir = %[1]s/run
state_dir = %[1]s/state
listen = 127.0.0.1
protocols = imap pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = %[1]s/log/dovecot.log
mail_location = maildir:%[1]s/mail/%%n
mail_uid = %[2]d
mail_gid = %[3]d
first_valid_uid = %[2]d
last_valid_uid = %[2]d
first_valid_gid = %[3]d
default_login_user = %[4]s
default_internal_user = %[5]s
mail_max_userip_connections = 100
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[2]d gid=%[3]d home=%[1]s/mail/%%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[6]d
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %[7]d
  }
  inet_listener pop3s {
    port = 0
  }
}
`, d, uid, gid, loginUser, internalUser, imapPort, popPort)
	cf := filepath.Join(d, "dovecot.conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	cmd := exec.Command(bin, "-F", "-c", cf)
	out, _ := os.Create(filepath.Join(d, "log", "stdout"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start Dovecot: %v", err)
	}
	t.Cleanup(func() {
		exec.Command("doveadm", "-c", cf, "stop").Run()
		cmd.Process.Kill()
		cmd.Wait()
	})
	imapAddr = fmt.Sprintf("127.0.0.1:%d", imapPort)
	popAddr = fmt.Sprintf("127.0.0.1:%d", popPort)
	for i := 0; i < 100; i++ {
		c1, err1 := net.Dial("tcp", imapAddr)
		c2, err2 := net.Dial("tcp", popAddr)
		if err1 == nil && err2 == nil {
			c1.Close()
			c2.Close()
			return imapAddr, popAddr
		}
		if c1 != nil {
			c1.Close()
		}
		if c2 != nil {
			c2.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(d, "log", "dovecot.log"))
	t.Skipf("Dovecot did not start listening: %s", b)
	return "", ""
}

// popMessages are the POP3 oracle's messages: the MIME corpus plus the
// line-end and dot cases POP3 must get right.
func popMessages(t *testing.T) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mime", "*.eml"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out,
		[]byte("From: a@example.org\nSubject: bare LF\n\n.dot\n..dots\n.\nlast\n"),
		[]byte("From: a@example.org\r\nSubject: no final line end\r\n\r\nbody"),
		[]byte("From: a@example.org\r\nSubject: header only\r\n"),
		[]byte("From: a@example.org\r\nSubject: mixed\r\n\r\nCRLF\r\nLF\nend\r\n"),
		[]byte("Subject: empty body\r\n\r\n"),
	)
}

// TestPOP3AgainstDovecot stores the same messages in barid and in
// Dovecot (over IMAP APPEND) and compares, byte for byte, what their
// POP3 servers answer to STAT, LIST, RETR and TOP, and checks that both
// UIDLs are Dovecot's default pop3_uidl_format %08Xu%08Xv of the
// server's own IMAP UID and UIDVALIDITY (which Dovecot 2.3 writes in
// lower-case hex).
func TestPOP3AgainstDovecot(t *testing.T) {
	dIMAP, dPOP := dovecotPOP3(t)
	s := testkit.Start(t, testkit.WithPOP3())
	s.AddUser("pop", "pw")
	msgs := popMessages(t)
	type server struct {
		name     string
		imap     *testkit.Conn
		pop      *testkit.POP3Conn
		validity uint32
	}
	servers := []*server{{name: "barid", imap: s.Dial()}, {name: "dovecot", imap: testkit.DialAddr(t, dIMAP)}}
	for _, sv := range servers {
		sv.imap.Login("pop", "pw")
		for _, m := range msgs {
			sv.imap.Send(fmt.Sprintf("ap APPEND INBOX {%d+}\r\n%s\r\n", len(m), m))
			if l := sv.imap.Until("ap"); !strings.HasPrefix(l[len(l)-1], "ap OK") {
				t.Fatalf("%s APPEND: %q", sv.name, l)
			}
		}
		l := sv.imap.ExpectOK("st", "STATUS INBOX (UIDVALIDITY)")
		v, _ := strconv.ParseUint(regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(strings.Join(l, " "))[1], 10, 32)
		sv.validity = uint32(v)
	}
	servers[0].pop = s.DialPOP3()
	servers[1].pop = testkit.DialPOP3Addr(t, dPOP)
	for _, sv := range servers {
		sv.pop.Login("pop", "pw")
	}
	both := func(cmd string, multi bool) {
		t.Helper()
		var got [2]string
		for i, sv := range servers {
			if multi {
				st, body := sv.pop.Multi(cmd)
				got[i] = st + "\n" + body
			} else {
				got[i] = sv.pop.Cmd(cmd)
			}
		}
		if got[0] != got[1] {
			t.Errorf("%s:\nbarid   %q\ndovecot %q", cmd, clipped(got[0]), clipped(got[1]))
		}
	}
	both("STAT", false)
	both("LIST", true)
	for i := 1; i <= len(msgs); i++ {
		both(fmt.Sprintf("LIST %d", i), false)
		both(fmt.Sprintf("RETR %d", i), true)
		both(fmt.Sprintf("TOP %d 0", i), true)
		both(fmt.Sprintf("TOP %d 3", i), true)
	}
	for _, sv := range servers {
		st, body := sv.pop.Multi("UIDL")
		if st != "+OK" {
			t.Fatalf("%s UIDL: %q", sv.name, st)
		}
		var want strings.Builder
		for i := 1; i <= len(msgs); i++ {
			fmt.Fprintf(&want, "%d %08x%08x\r\n", i, i, sv.validity)
		}
		if body != want.String() {
			t.Errorf("%s UIDL is not %%08Xu%%08Xv of its IMAP UID and UIDVALIDITY:\n%q\nwant\n%q", sv.name, clipped(body), clipped(want.String()))
		}
	}
	// Errors and the DELE/RSET bookkeeping, worded as Dovecot words
	// them. (A TOP without its line count differs on purpose: barid
	// says what is missing, Dovecot "-ERR Noise after message number".)
	for _, cmd := range []string{"RETR 0", "RETR 9999", "LIST abc", "DELE 2", "DELE 2", "RETR 2", "STAT", "LIST 2", "RSET", "STAT", "NOOP"} {
		both(cmd, false)
	}
	for _, sv := range servers {
		sv.pop.OK("QUIT")
	}
	t.Logf("%d messages: STAT, LIST, RETR, TOP 0 and TOP 3 identical to Dovecot's", len(msgs))
}

func clipped(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}
