package main

import (
	"bufio"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"barid/internal/testkit"
)

// quickstart leaves submission off without a smarthost and says how to
// turn it on; with --relay it serves submission, prints the addresses,
// and a client that knows only the printed lines sends through it.
func TestQuickstartSubmission(t *testing.T) {
	bin := buildBarid(t)
	run := func(args ...string) (lines chan string) {
		t.Helper()
		data := filepath.Join(t.TempDir(), "barid-data")
		cmd := exec.Command(bin, append([]string{"quickstart", "--data", data, "--imap", freeAddr(t), "--imaps", freeAddr(t), "--pop3", freeAddr(t), "--pop3s", freeAddr(t), "--managesieve", freeAddr(t)}, args...)...)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		lines = make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		return lines
	}
	waitFor := func(lines chan string, re *regexp.Regexp) []string {
		t.Helper()
		var seen []string
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("quickstart ended; printed %q", seen)
				}
				seen = append(seen, l)
				if m := re.FindStringSubmatch(l); m != nil {
					return append(m, seen...)
				}
			case <-timeout:
				t.Fatalf("quickstart printed %q", seen)
			}
		}
	}

	off := run()
	waitFor(off, regexp.MustCompile(`^Sending is off: give --relay HOST:PORT`))

	sink := testkit.StartSink(t, nil)
	on := run("--relay", sink.Addr, "--submission", freeAddr(t), "--submissions", freeAddr(t))
	pw := waitFor(on, regexp.MustCompile(`^\s*Password\s*: (\S+)`))[1]
	m := waitFor(on, regexp.MustCompile(`^Sending: SMTP (\S+) \(STARTTLS\) or (\S+) \(TLS\)`))
	for i, addr := range []string{m[1], m[2]} {
		var c *smtp.Client
		var err error
		if i == 0 {
			c, err = smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
		} else {
			c, err = smtp.DialTLS(addr, &tls.Config{InsecureSkipVerify: true})
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(sasl.NewPlainClient("", "demo", pw)); err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail("demo@localhost", []string{"friend@example.org"}, strings.NewReader("From: demo@localhost\r\nSubject: hi\r\n\r\nhello\r\n")); err != nil {
			t.Fatal(err)
		}
		c.Quit()
	}
	sink.WaitMessages(t, 2)
}
