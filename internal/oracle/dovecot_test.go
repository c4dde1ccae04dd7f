package oracle

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
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

	"barid/internal/app"
	"barid/internal/auth"
	"barid/internal/config"
)

// dovecot is a private Dovecot instance on loopback.
type dovecot struct {
	addr string
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startDovecot(t *testing.T, users []string) *dovecot {
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
	var pw strings.Builder
	for _, u := range users {
		fmt.Fprintf(&pw, "%s:{PLAIN}pw\n", u)
	}
	os.WriteFile(filepath.Join(d, "passwd"), []byte(pw.String()), 0o644)
	port := freePort(t)
	conf := fmt.Sprintf(`instance_name = barid-oracle-%d
base_dir = %[2]s/run
state_dir = %[2]s/state
listen = 127.0.0.1
protocols = imap
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
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
`, port, d, uid, gid, loginUser, internalUser, port)
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
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &dovecot{addr: addr, cmd: cmd}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(d, "log", "dovecot.log"))
	t.Skipf("Dovecot did not start listening: %s", b)
	return nil
}

// startBarid starts barid in-process with the given users (password "pw").
func startBarid(t *testing.T, users []string) string {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.IMAP.Listen = "127.0.0.1:0"
	cfg.IMAP.ListenTLS = ""
	cfg.Auth.FailureDelay = config.Duration{Duration: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("ORACLE_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	st := a.Data().Store
	for _, u := range users {
		if _, err := app.CreateAccountWith(ctx, st, u, "pw", auth.Params{ArgonTime: 1, ArgonMemory: 1024, ArgonThreads: 1, SCRAMIterations: 4096}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return a.Addrs()["imap"]
}

// session is a raw client that records every line it receives.
type session struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialSession(t *testing.T, addr string) *session {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	s := &session{t: t, nc: nc, br: bufio.NewReader(nc)}
	s.line()
	return s
}

var litRE = regexp.MustCompile(`~?\{(\d+)\}$`)

func (s *session) line() string {
	s.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	for {
		l, err := s.br.ReadString('\n')
		if err != nil {
			s.t.Fatalf("read: %v (%q)", err, b.String()+l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		b.WriteString(l)
		m := litRE.FindStringSubmatch(l)
		if m == nil {
			return b.String()
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		io.ReadFull(s.br, buf)
		b.WriteString(strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(string(buf)))
	}
}

// run sends one command (which may contain {N+} literals) and returns
// the response lines.
func (s *session) run(tag, cmd string) []string {
	s.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(s.nc, tag+" "+cmd+"\r\n")
	var out []string
	for {
		l := s.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}
