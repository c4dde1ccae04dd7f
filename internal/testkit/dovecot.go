package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Dovecot is a private Dovecot instance on loopback, the oracle that
// barid's answers are compared with (Debian's dovecot-imapd, and
// dovecot-pop3d / dovecot-lmtpd for those protocols).
type Dovecot struct {
	Addr     string // IMAP
	POP3Addr string // "" unless DovecotOptions.POP3
	LMTPAddr string // "" unless DovecotOptions.LMTP
	Dir      string // its base folder (mail under Dir/mail/<user>)
	Config   string // its dovecot.conf
}

// DovecotOptions say which users and protocols the instance has.
type DovecotOptions struct {
	Users    []string
	Password string // every user's password; default "pw"
	POP3     bool
	LMTP     bool
	// Extra is appended to dovecot.conf (plugins, settings).
	Extra string
}

// StartDovecot starts Dovecot with maildir mailboxes, plaintext logins
// allowed and the same default mailboxes barid creates, or skips the
// test when Dovecot is not installed. It stops when the test ends.
// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func StartDovecot(t testing.TB, o DovecotOptions) *Dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		t.Skip("Dovecot is not installed (apt-get install dovecot-imapd): oracle comparison skipped")
	}
	// Dovecot's unprivileged processes must traverse the folder, and
	// t.TempDir's parent is 0700.
	d, err := os.MkdirTemp("", "barid-oracle-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	os.Chmod(d, 0o755)
	for _, sub := range []string{"run", "state", "mail", "log"} {
		os.MkdirAll(filepath.Join(d, sub), 0o755)
	}
	mailUser, loginUser, internalUser := "", "", ""
	if os.Getuid() == 0 {
		mailUser, loginUser, internalUser = "barbench", "dovenull", "dovecot"
		if _, err := user.Lookup(mailUser); err != nil {
			exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", mailUser).Run()
		}
	} else {
		u, _ := user.Current()
		mailUser, loginUser, internalUser = u.Username, u.Username, u.Username
	}
	mu, err := user.Lookup(mailUser)
	if err != nil {
		t.Skipf("no mail user for Dovecot: %v", err)
	}
	uid, _ := strconv.Atoi(mu.Uid)
	gid, _ := strconv.Atoi(mu.Gid)
	os.Chown(filepath.Join(d, "mail"), uid, gid)
	pw := o.Password
	if pw == "" {
		pw = "pw"
	}
	var pwf strings.Builder
	for _, u := range o.Users {
		fmt.Fprintf(&pwf, "%s:{PLAIN}%s\n", u, pw)
	}
	os.WriteFile(filepath.Join(d, "passwd"), []byte(pwf.String()), 0o644)
	port, pop3Port, lmtpPort := FreePort(t), 0, 0
	protocols := "imap"
	if o.POP3 {
		pop3Port = FreePort(t)
		protocols += " pop3"
	}
	if o.LMTP {
		lmtpPort = FreePort(t)
		protocols += " lmtp"
	}
	conf := fmt.Sprintf(`instance_name = barid-oracle-%d
base_dir = %[2]s/run
state_dir = %[2]s/state
listen = 127.0.0.1
protocols = %[8]s
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = %[2]s/log/dovecot.log
mail_location = maildir:%[2]s/mail/%%n
mail_uid = %[3]d
mail_gid = %[4]d
first_valid_uid = %[3]d
last_valid_uid = %[3]d
first_valid_gid = %[4]d
default_login_user = %[5]s
default_internal_user = %[6]s
mail_max_userip_connections = 100
namespace inbox {
  inbox = yes
  separator = /
  mailbox INBOX {
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \Archive
    auto = subscribe
  }
}
passdb {
  driver = passwd-file
  args = %[2]s/passwd
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[4]d home=%[2]s/mail/%%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[7]d
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %[9]d
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %[10]d
  }
}
`, port, d, uid, gid, loginUser, internalUser, port, protocols, pop3Port, lmtpPort) + o.Extra
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
	dv := &Dovecot{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: d, Config: cf}
	if pop3Port != 0 {
		dv.POP3Addr = fmt.Sprintf("127.0.0.1:%d", pop3Port)
	}
	if lmtpPort != 0 {
		dv.LMTPAddr = fmt.Sprintf("127.0.0.1:%d", lmtpPort)
	}
	for i := 0; i < 100; i++ {
		up := true
		for _, a := range []string{dv.Addr, dv.POP3Addr, dv.LMTPAddr} {
			if a == "" {
				continue
			}
			c, err := net.Dial("tcp", a)
			if err != nil {
				up = false
				break
			}
			c.Close()
		}
		if up {
			return dv
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(d, "log", "dovecot.log"))
	t.Skipf("Dovecot did not start listening: %s", b)
	return nil
}
