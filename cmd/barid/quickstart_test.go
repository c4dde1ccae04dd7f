package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's first command: quickstart creates the data folder and a
// demo account, prints what a mail client needs, and serves it. A
// client that knows only the printed lines logs in over implicit TLS
// (trusting the printed certificate) and over STARTTLS, and a second
// run gives the account a new password (README: the quickstart).
func TestQuickstart(t *testing.T) {
	bin := buildBarid(t)
	data := filepath.Join(t.TempDir(), "barid-data") // does not exist yet
	start := func() (*exec.Cmd, map[string]string) {
		t.Helper()
		cmd := exec.Command(bin, "quickstart", "--data", data, "--imap", freeAddr(t), "--imaps", freeAddr(t),
			"--pop3", freeAddr(t), "--pop3s", freeAddr(t), "--managesieve", freeAddr(t))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		// "  IMAPS server: 127.0.0.1:NNN  (TLS; ... self-signed: DIR/tls/cert.pem)"
		field := regexp.MustCompile(`^\s*(IMAP server|IMAPS server|POP3 server|POP3S server|ManageSieve|Username|Password)\s*: (\S+)(?:.*self-signed: (\S+)\))?`)
		got := map[string]string{}
		sc := bufio.NewScanner(out)
		deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
		defer deadline.Stop()
		for len(got) < 8 && sc.Scan() {
			if m := field.FindStringSubmatch(sc.Text()); m != nil {
				got[m[1]] = m[2]
				if m[3] != "" {
					got["cert"] = m[3]
				}
			}
		}
		if len(got) < 8 {
			t.Fatalf("quickstart printed %v", got)
		}
		return cmd, got
	}
	cmd, got := start()
	if got["Username"] != "demo" || len(got["Password"]) < 10 {
		t.Fatalf("account: %v", got)
	}
	if st, err := os.Stat(data); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data folder: %v %v", st, err)
	}
	pem, err := os.ReadFile(got["cert"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("the printed certificate is not PEM")
	}
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	login := func(nc net.Conn, br *bufio.Reader, tag string) string {
		t.Helper()
		fmt.Fprintf(nc, "%s LOGIN %s %s\r\n", tag, got["Username"], got["Password"])
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, tag+" ") {
				return l
			}
		}
	}
	// Implicit TLS, the certificate checked against the printed file.
	tc, err := tls.Dial("tcp", got["IMAPS server"], tlsCfg)
	if err != nil {
		t.Fatalf("IMAPS with the printed certificate: %v", err)
	}
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(tc)
	br.ReadString('\n')
	if l := login(tc, br, "a"); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("IMAPS LOGIN: %q", l)
	}
	tc.Close()
	// STARTTLS on the plain port.
	nc, err := net.Dial("tcp", got["IMAP server"])
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br = bufio.NewReader(nc)
	br.ReadString('\n')
	fmt.Fprintf(nc, "s STARTTLS\r\n")
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "s OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	tc = tls.Client(nc, tlsCfg)
	br = bufio.NewReader(tc)
	if l := login(tc, br, "b"); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("LOGIN after STARTTLS: %q", l)
	}
	tc.Close()
	// POP3 over implicit TLS and over STLS, with the printed lines.
	pop3Login := func(nc net.Conn, br *bufio.Reader) {
		t.Helper()
		for _, c := range []string{"USER " + got["Username"], "PASS " + got["Password"], "STAT", "QUIT"} {
			fmt.Fprintf(nc, "%s\r\n", c)
			if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "+OK") {
				t.Fatalf("POP3 %s: %q", strings.Fields(c)[0], l)
			}
		}
	}
	tc, err = tls.Dial("tcp", got["POP3S server"], tlsCfg)
	if err != nil {
		t.Fatalf("POP3S with the printed certificate: %v", err)
	}
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	br = bufio.NewReader(tc)
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("POP3S greeting: %q", l)
	}
	pop3Login(tc, br)
	tc.Close()
	nc, err = net.Dial("tcp", got["POP3 server"])
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br = bufio.NewReader(nc)
	br.ReadString('\n')
	fmt.Fprintf(nc, "STLS\r\n")
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("STLS: %q", l)
	}
	tc = tls.Client(nc, tlsCfg)
	pop3Login(tc, bufio.NewReader(tc))
	tc.Close()
	// ManageSieve (RFC 5804) with the printed line: STARTTLS, then
	// AUTHENTICATE PLAIN and a script stored and listed.
	nc, err = net.Dial("tcp", got["ManageSieve"])
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	msResp := func(br *bufio.Reader) (lines []string) {
		t.Helper()
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("ManageSieve: %v after %q", err, lines)
			}
			lines = append(lines, l)
			if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
				return lines
			}
		}
	}
	br = bufio.NewReader(nc)
	if ls := msResp(br); !strings.Contains(strings.Join(ls, ""), `"STARTTLS"`) || !strings.Contains(strings.Join(ls, ""), `"NOTIFY" "mailto"`) {
		t.Fatalf("ManageSieve greeting: %q", ls)
	}
	fmt.Fprintf(nc, "STARTTLS\r\n")
	if ls := msResp(br); !strings.HasPrefix(ls[len(ls)-1], "OK") {
		t.Fatalf("ManageSieve STARTTLS: %q", ls)
	}
	tc = tls.Client(nc, tlsCfg)
	br = bufio.NewReader(tc)
	msResp(br) // the capabilities again (RFC 5804 §2.2)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + got["Username"] + "\x00" + got["Password"]))
	for _, c := range []string{`AUTHENTICATE "PLAIN" "` + plain + `"`, `PUTSCRIPT "quick" "keep;"`, `SETACTIVE "quick"`, `LISTSCRIPTS`} {
		fmt.Fprintf(tc, "%s\r\n", c)
		if ls := msResp(br); !strings.HasPrefix(ls[len(ls)-1], "OK") || c == "LISTSCRIPTS" && ls[0] != "\"quick\" ACTIVE\r\n" {
			t.Fatalf("ManageSieve %s: %q", c, ls)
		}
	}
	tc.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("quickstart after SIGTERM: %v", err)
	}
	// A second run on the same folder: a new password, the old one is
	// refused.
	old := got["Password"]
	_, got = start()
	if got["Password"] == old {
		t.Fatal("the second quickstart kept the password")
	}
	nc, err = tls.Dial("tcp", got["IMAPS server"], tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br = bufio.NewReader(nc)
	br.ReadString('\n')
	fmt.Fprintf(nc, "c LOGIN demo %s\r\n", old)
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "c NO") {
		t.Fatalf("the old password after a second quickstart: %q", l)
	}
}
