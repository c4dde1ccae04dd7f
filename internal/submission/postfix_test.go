package submission_test

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

	"barid/internal/config"
	"barid/internal/testkit"
)

// postfixMasterCf runs smtpd on one loopback port and the services a
// relay through LMTP needs; no chroot, no pickup from sendmail.
const postfixMasterCf = `# barid submission test instance
%s inet  n       -       n       -       -       smtpd
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

// Debian's Postfix as the smarthost: a private instance (configuration,
// queue and log in a temporary folder) listens with smtpd on loopback
// and delivers everything over LMTP back to barid. alice submits a
// stored draft with BURL through barid's submission; Postfix's own
// "250 2.0.0 Ok: queued as ID" reaches her, its refusal of a recipient
// too (with its code), and the message arrives in bob's INBOX with the
// draft's bytes after Postfix's trace headers. Needs root (Postfix's
// master starts as root) and the postfix package (.ci/run installs it).
func TestPostfixSmarthost(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the Postfix test")
	}
	postfix, err := exec.LookPath("postfix")
	if err != nil {
		postfix = "/usr/sbin/postfix"
		if _, err := os.Stat(postfix); err != nil {
			t.Skip("postfix not installed (apt-get install -y postfix): skipping the Postfix smarthost test")
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: Postfix's master must start as root; skipping the Postfix smarthost test")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no \"postfix\" user: skipping the Postfix smarthost test")
	}
	// Postfix's port first (barid relays to it), then barid (Postfix
	// delivers to its LMTP listener).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pfAddr := ln.Addr().String()
	ln.Close()
	srv := testkit.Start(t, testkit.WithSubmission(pfAddr), func(c *config.Config) {
		c.LMTP.Listen = "127.0.0.1:0"
		c.LMTP.LocalDomains = []string{"localhost", "barid.test"}
	})
	srv.AddUser("alice", "wonderland")
	srv.AddUser("bob", "builder")
	lmtpAddr := srv.App.Addrs()["lmtp"]

	dir, err := os.MkdirTemp("", "barid-postfix-submission-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	conf, queue, data, maillog := filepath.Join(dir, "conf"), filepath.Join(dir, "queue"), filepath.Join(dir, "data"), filepath.Join(dir, "maillog")
	for _, d := range []string{conf, queue} {
		os.Mkdir(d, 0o755)
	}
	mainCf := fmt.Sprintf(`# barid submission test instance: loopback only, every message to barid over LMTP
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
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = check_recipient_access inline:{ {nobody@barid.test=REJECT no such user} }, permit_mynetworks, reject
default_transport = lmtp:inet:%s
relay_transport = lmtp:inet:%s
local_transport = error:local delivery is disabled
smtputf8_enable = no
message_size_limit = 5000000
biff = no
maillog_file = %s
maillog_file_prefixes = %s
alias_maps =
alias_database =
`, queue, data, lmtpAddr, lmtpAddr, maillog, dir)
	os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCf), 0o644)
	os.WriteFile(filepath.Join(conf, "master.cf"), []byte(fmt.Sprintf(postfixMasterCf, pfAddr)), 0o644)
	pf := func(args ...string) (string, error) {
		out, err := exec.Command(postfix, append([]string{"-c", conf}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := pf("check"); err != nil {
		os.RemoveAll(dir)
		t.Skipf("postfix check failed (%v): skipping the Postfix smarthost test\n%s", err, out)
	}
	if out, err := pf("start"); err != nil {
		os.RemoveAll(dir)
		t.Skipf("postfix start failed (%v): skipping the Postfix smarthost test\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := pf("stop"); err != nil {
			t.Logf("postfix stop: %v\n%s", err, out)
		}
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
		return string(b)
	}
	// smtpd answers once master has started it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", pfAddr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix's smtpd does not answer on %s\n%s", pfAddr, logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}

	imap := srv.Dial()
	imap.Login("alice", "wonderland")
	draft := "From: Alice <alice@localhost>\r\nTo: bob@barid.test\r\nSubject: through Postfix\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <burl-postfix@barid.test>\r\n\r\nSubmitted with BURL, relayed by Postfix.\r\n"
	r := imap.ExpectOK("a1", "APPEND Drafts "+imapLiteral(draft))
	m := appendUIDRe.FindStringSubmatch(r[len(r)-1])
	r = imap.ExpectOK("a2", `GENURLAUTH "imap://alice@localhost/Drafts;UIDVALIDITY=`+m[1]+`/;UID=`+m[2]+`;URLAUTH=submit+alice" INTERNAL`)
	url := genURLRe.FindStringSubmatch(r[0])[1]

	c := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	c.Timeout = 30 * time.Second
	c.AuthPlain("alice", "wonderland")
	c.Expect("MAIL FROM:<alice@localhost>", "250 ")
	c.Expect("RCPT TO:<nobody@barid.test>", "554 5.7.1 <nobody@barid.test>: Recipient address rejected: no such user")
	c.Expect("RCPT TO:<bob@barid.test>", "250 ")
	reply := c.Expect("BURL "+url+" LAST", "250 2.0.0 Ok: queued as ")
	id := strings.TrimPrefix(reply[0], "250 2.0.0 Ok: queued as ")
	if !regexp.MustCompile(`^[0-9A-Za-z]+$`).MatchString(id) {
		t.Errorf("Postfix's queue id not passed back: %q", reply)
	}
	// barid's EHLO is Postfix's set, learned at the relay connection
	// above: no SMTPUTF8 (smtputf8_enable = no), DSN and 8BITMIME, and
	// SIZE as message_size_limit (smaller than limits.literal_size).
	// MAIL with SMTPUTF8 is refused by barid, before Postfix sees it;
	// RET and ENVID reach Postfix, which takes them.
	kws := ehloKeywords(c)
	if has(kws, "SMTPUTF8") || !has(kws, "DSN") || !has(kws, "8BITMIME") || !has(kws, "SIZE 5000000") {
		t.Errorf("EHLO in front of Postfix: %q", kws)
	}
	c.Expect("MAIL FROM:<alice@localhost> SMTPUTF8", "555 5.5.4 SMTPUTF8 not available: the relay does not support SMTPUTF8")
	c.Expect("MAIL FROM:<alice@localhost> SIZE=6000000", "552 5.3.4 Message size exceeds the relay's fixed maximum (SIZE 5000000)")
	c.Expect("MAIL FROM:<alice@localhost> RET=HDRS ENVID=pf1", "250 ")
	c.Expect("RCPT TO:<bob@barid.test> NOTIFY=SUCCESS,FAILURE", "250 ")
	c.Expect("RSET", "250 ")
	c.Expect("QUIT", "221 ")

	bob := srv.Dial()
	bob.Login("bob", "builder")
	deadline = time.Now().Add(30 * time.Second)
	for {
		st := strings.Join(bob.ExpectOK("b1", "STATUS INBOX (MESSAGES)"), "\n")
		if n, _ := strconv.Atoi(regexp.MustCompile(`MESSAGES (\d+)`).FindStringSubmatch(st)[1]); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message did not reach bob within 30 s\n%s", logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	bob.ExpectOK("b2", "SELECT INBOX")
	got := fetchBody(t, bob, 1)
	if !strings.HasSuffix(got, draft) || !strings.Contains(got, "Received: from ") || !strings.Contains(got, "Delivered-To: bob@barid.test\r\n") {
		t.Fatalf("delivered message is not Postfix's trace headers + the draft:\n%s", got)
	}
	if l := logTail(); !strings.Contains(l, id+": to=<bob@barid.test>") || !strings.Contains(l, "status=sent") {
		t.Errorf("Postfix's log lacks the delivery of %s:\n%s", id, l)
	}
}
