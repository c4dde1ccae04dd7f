package lmtp_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// postfixMasterCf is the smallest master.cf that queues locally
// submitted mail and delivers it over LMTP: no smtpd, no chroot.
const postfixMasterCf = `# barid test instance
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

// Debian's Postfix, started on loopback with its own configuration,
// queue and log in a temporary folder, delivers a message submitted with
// sendmail(1) through lmtp:inet:127.0.0.1:PORT, and it arrives in INBOX.
// Needs root (Postfix's master runs as root and drops to "postfix") and
// the postfix package (.ci/run installs it).
func TestPostfixDeliversOverLMTP(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the Postfix test")
	}
	postfix, err := exec.LookPath("postfix")
	if err != nil {
		postfix = "/usr/sbin/postfix"
		if _, err := os.Stat(postfix); err != nil {
			t.Skip("postfix not installed (apt-get install -y postfix): skipping the Postfix LMTP test")
		}
	}
	sendmail := filepath.Join(filepath.Dir(postfix), "sendmail")
	if os.Geteuid() != 0 {
		t.Skip("not root: Postfix's master must start as root; skipping the Postfix LMTP test")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no \"postfix\" user: skipping the Postfix LMTP test")
	}
	e := newEnv(t)
	alice := e.addUser("alice")

	// t.TempDir() folders are 0700 root; Postfix's daemons run as
	// "postfix" and must reach the queue, so use a 0755 folder.
	dir, err := os.MkdirTemp("", "barid-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	conf := filepath.Join(dir, "conf")
	queue := filepath.Join(dir, "queue")
	data := filepath.Join(dir, "data")
	maillog := filepath.Join(dir, "maillog")
	for _, d := range []string{conf, queue} {
		os.Mkdir(d, 0o755)
	}
	mainCf := fmt.Sprintf(`# barid test instance: loopback only, every message to barid over LMTP
compatibility_level = 3.6
queue_directory = %s
data_directory = %s
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.barid.test
mydomain = barid.test
myorigin = $myhostname
mydestination =
relay_domains =
local_recipient_maps =
inet_interfaces = loopback-only
inet_protocols = ipv4
default_transport = lmtp:inet:%s
relay_transport = lmtp:inet:%s
local_transport = error:local delivery is disabled
smtputf8_enable = no
biff = no
maillog_file = %s
maillog_file_prefixes = %s
alias_maps =
alias_database =
`, queue, data, e.addr, e.addr, maillog, dir)
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "master.cf"), []byte(postfixMasterCf), 0o644); err != nil {
		t.Fatal(err)
	}
	pf := func(args ...string) (string, error) {
		out, err := exec.Command(postfix, append([]string{"-c", conf}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := pf("check"); err != nil {
		os.RemoveAll(dir)
		t.Skipf("postfix check failed (%v): skipping the Postfix LMTP test\n%s", err, out)
	}
	if out, err := pf("start"); err != nil {
		os.RemoveAll(dir)
		t.Skipf("postfix start failed (%v): skipping the Postfix LMTP test\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := pf("stop"); err != nil {
			t.Logf("postfix stop: %v\n%s", err, out)
		}
		// master exits asynchronously; wait for its pid file to go.
		for i := 0; i < 50; i++ {
			if _, err := os.Stat(filepath.Join(queue, "pid", "master.pid")); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		os.RemoveAll(dir)
	})
	logTail := func() string {
		b, _ := os.ReadFile(maillog)
		q, _ := exec.Command(filepath.Join(filepath.Dir(postfix), "postqueue"), "-c", conf, "-p").CombinedOutput()
		return string(b) + "\nqueue:\n" + string(q)
	}

	msg := "From: Sender <sender@example.net>\nTo: alice@example.com\nSubject: through postfix\nMessage-ID: <postfix-test@barid.test>\n\nDelivered by Postfix over LMTP.\n"
	cmd := exec.Command(sendmail, "-C", conf, "-f", "sender@example.net", "-i", "alice@example.com")
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s\n%s", err, out, logTail())
	}
	submitted := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for e.count(alice, "INBOX") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the message did not arrive within 30 s\n%s", logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("Postfix delivered over LMTP %v after sendmail returned", time.Since(submitted))
	m := e.messages(alice, "INBOX")[0]
	for _, want := range []string{
		"Return-Path: <sender@example.net>\r\n",
		"Delivered-To: alice@example.com\r\n",
		"Subject: through postfix\r\n",
		"\r\n\r\nDelivered by Postfix over LMTP.\r\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("stored message lacks %q:\n%s", want, m)
		}
	}
	// Postfix logs the LMTP reply it got.
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(logTail(), "status=sent (250 2.0.0 <alice@example.com>") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if l := logTail(); !strings.Contains(l, "status=sent (250 2.0.0 <alice@example.com>") {
		t.Errorf("Postfix did not log the LMTP 250:\n%s", l)
	}
}
