package lmtp_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// pythonLMTP drives Python's smtplib.LMTP by hand: smtplib's sendmail()
// reads a single reply after DATA, so the script sends DATA itself and
// reads one reply per accepted recipient (RFC 2033 §4.2).
const pythonLMTP = `
# smtplib.LMTP.ehlo() sends LHLO (ehlo_msg = "lhlo").
import json, re, smtplib, sys
target = sys.argv[1]
if target.startswith("/"):
    s = smtplib.LMTP(target)
else:
    host, port = target.rsplit(":", 1)
    s = smtplib.LMTP(host, int(port))
out = {"lhlo": s.ehlo("python.test")[0], "esmtp": sorted(s.esmtp_features.keys())}
s.mail("sender@example.net")
rcpts = ["alice@localhost", "nobody@localhost", "Carol@Example.com"]
out["rcpt"] = []
accepted = []
for r in rcpts:
    code, text = s.rcpt(r)
    out["rcpt"].append([r, code, text.decode()])
    if code == 250:
        accepted.append(r)
code, text = s.docmd("DATA")
out["data"] = code
msg = b"From: sender@example.net\r\nSubject: from python\r\n\r\nHello from smtplib.\r\n.leading dot\r\n"
s.send(re.sub(rb"(?m)^\.", b"..", msg) + b".\r\n")  # RFC 5321 §4.5.2 dot-stuffing
out["replies"] = []
for r in accepted:
    code, text = s.getreply()
    out["replies"].append([code, text.decode()])
s.quit()
print(json.dumps(out))
`

// Python's smtplib in LMTP mode, over TCP and the unix socket: three
// recipients, one unknown; the unknown one gets 550 5.1.1 at RCPT, the
// other two one 250 each after DATA.
func TestPythonSmtplibLMTP(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: skipping the smtplib.LMTP interop test")
	}
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			e := newEnv(t)
			alice := e.addUser("alice")
			carol := e.addUser("carol")
			target := e.addr
			if network == "unix" {
				target = e.sock
			}
			out, err := exec.Command(py, "-c", pythonLMTP, target).CombinedOutput()
			if err != nil {
				t.Fatalf("python3: %v\n%s", err, out)
			}
			var res struct {
				LHLO    int
				ESMTP   []string
				Rcpt    [][3]any
				Data    int
				Replies [][2]any
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			t.Logf("%s", out)
			if res.LHLO != 250 {
				t.Errorf("LHLO %d", res.LHLO)
			}
			for _, f := range []string{"8bitmime", "enhancedstatuscodes", "pipelining", "size"} {
				if !strings.Contains(strings.Join(res.ESMTP, " "), f) {
					t.Errorf("LHLO lacks %s: %v", f, res.ESMTP)
				}
			}
			wantRcpt := []float64{250, 550, 250}
			for i, r := range res.Rcpt {
				if r[1].(float64) != wantRcpt[i] {
					t.Errorf("RCPT %v: want %v", r, wantRcpt[i])
				}
			}
			if !strings.HasPrefix(res.Rcpt[1][2].(string), "5.1.1 ") {
				t.Errorf("unknown user reply %q lacks 5.1.1", res.Rcpt[1][2])
			}
			if res.Data != 354 {
				t.Errorf("DATA %d", res.Data)
			}
			if len(res.Replies) != 2 {
				t.Fatalf("%d replies after DATA, want 2 (one per accepted recipient)", len(res.Replies))
			}
			for i, rcpt := range []string{"alice@localhost", "Carol@Example.com"} {
				if res.Replies[i][0].(float64) != 250 || !strings.Contains(res.Replies[i][1].(string), "<"+rcpt+">") {
					t.Errorf("reply %d: %v", i, res.Replies[i])
				}
			}
			for _, a := range []string{"alice", "carol"} {
				acct := alice
				if a == "carol" {
					acct = carol
				}
				m := e.messages(acct, "INBOX")
				if len(m) != 1 || !strings.HasSuffix(m[0], "\r\n\r\nHello from smtplib.\r\n.leading dot\r\n") {
					t.Errorf("%s: %q", a, m)
				}
			}
		})
	}
}

// swaks (Debian package "swaks") in LMTP mode, over TCP and the unix
// socket.
func TestSwaks(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed (apt-get install -y swaks): skipping the swaks interop test")
	}
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			e := newEnv(t)
			alice := e.addUser("alice")
			args := []string{"--protocol", "LMTP", "--helo", "swaks.test", "--from", "swaks@example.net",
				"--to", "alice@localhost,ghost@localhost", "--header", "Subject: from swaks", "--body", "swaks body", "--timeout", "20"}
			if network == "unix" {
				args = append(args, "--socket", e.sock)
			} else {
				args = append(args, "--server", e.addr)
			}
			out, err := exec.Command(swaks, args...).CombinedOutput()
			// swaks exits non-zero when a recipient is refused.
			t.Logf("swaks: %v\n%s", err, out)
			s := string(out)
			for _, want := range []string{
				"<** 550 5.1.1 User doesn't exist: ghost@localhost",
				"<-  250 2.0.0 <alice@localhost> ",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("swaks transcript lacks %q", want)
				}
			}
			m := e.messages(alice, "INBOX")
			if len(m) != 1 || !strings.Contains(m[0], "Subject: from swaks") || !strings.HasPrefix(m[0], "Return-Path: <swaks@example.net>\r\nDelivered-To: alice@localhost\r\n") {
				t.Errorf("stored: %q", m)
			}
		})
	}
}
