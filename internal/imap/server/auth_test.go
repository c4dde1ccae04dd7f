package server_test

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"barid/internal/config"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// RFC 9051 §6.2.2 AUTHENTICATE PLAIN with and without SASL-IR
// (RFC 4959), and cancellation with "*".
func TestAuthenticatePlain(t *testing.T) {
	ts := startServer(t)
	ts.addUser("dora", "s3cret")
	c := ts.dial()
	lines := c.cmd("a1", "AUTHENTICATE PLAIN "+b64("\x00dora\x00wrong"))
	mustHave(t, lines, `^a1 NO \[AUTHENTICATIONFAILED\]`)
	c.send("a2 AUTHENTICATE PLAIN\r\n")
	if l := c.readLine(); l != "+ " {
		t.Fatalf("continuation: %q", l)
	}
	c.send("*\r\n")
	mustHave(t, c.until("a2"), `^a2 BAD .*cancel`)
	c.send("a3 AUTHENTICATE PLAIN\r\n")
	c.readLine()
	c.send(b64("\x00dora\x00s3cret") + "\r\n")
	mustHave(t, c.until("a3"), `^a3 OK \[CAPABILITY .*\] Logged in`)

	c2 := ts.dial()
	mustHave(t, c2.cmd("b1", "AUTHENTICATE PLAIN "+b64("dora\x00dora\x00s3cret")), `^b1 OK`)
	c3 := ts.dial()
	mustHave(t, c3.cmd("c1", "AUTHENTICATE PLAIN "+b64("mallory\x00dora\x00s3cret")), `^c1 NO \[AUTHORIZATIONFAILED\]`)
	mustHave(t, c3.cmd("c2", "AUTHENTICATE PLAIN !!!notbase64"), `^c2 BAD`)
	mustHave(t, c3.cmd("c3", "AUTHENTICATE CRAM-MD5"), `^c3 NO \[CANNOT\]`)
	c4 := ts.dial()
	c4.send("d1 AUTHENTICATE LOGIN\r\n")
	if l := c4.readLine(); l != "+ "+b64("Username:") {
		t.Fatalf("LOGIN mechanism: %q", l)
	}
	c4.send(b64("dora") + "\r\n")
	c4.readLine()
	c4.send(b64("s3cret") + "\r\n")
	mustHave(t, c4.until("d1"), `^d1 OK`)
}

// SCRAM-SHA-256 through IMAP with a client implementation nobody here
// wrote (github.com/xdg-go/scram).
func TestAuthenticateSCRAM(t *testing.T) {
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-1"} {
		t.Run(mech, func(t *testing.T) {
			ts := startServer(t)
			ts.addUser("erin", "pencil")
			hash := scram.SHA256
			if mech == "SCRAM-SHA-1" {
				hash = scram.SHA1
			}
			for _, pw := range []string{"pencil", "wrong"} {
				cl, err := hash.NewClient("erin", pw, "")
				if err != nil {
					t.Fatal(err)
				}
				conv := cl.NewConversation()
				first, _ := conv.Step("")
				c := ts.dial()
				c.send("a1 AUTHENTICATE " + mech + " " + b64(first) + "\r\n")
				var final string
				for {
					l := c.readLine()
					if strings.HasPrefix(l, "a1 ") {
						final = l
						break
					}
					if !strings.HasPrefix(l, "+ ") {
						t.Fatalf("unexpected %q", l)
					}
					chal, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "+ "))
					if err != nil {
						t.Fatal(err)
					}
					if conv.Done() {
						c.send("\r\n")
						continue
					}
					resp, err := conv.Step(string(chal))
					if err != nil {
						// Server-final failed to verify: cancel.
						c.send("*\r\n")
						continue
					}
					c.send(b64(resp) + "\r\n")
				}
				if pw == "pencil" && (!strings.HasPrefix(final, "a1 OK") || !conv.Valid()) {
					t.Fatalf("%s login failed: %q valid=%v", mech, final, conv.Valid())
				}
				if pw == "wrong" && !strings.HasPrefix(final, "a1 NO") {
					t.Fatalf("%s wrong password: %q", mech, final)
				}
			}
		})
	}
}

// A plaintext password never reaches the disk or the log, even with the
// protocol trace on; the data folder is 0700 and its files 0600.
func TestSecretsStayOffDiskAndLogs(t *testing.T) {
	const pw = "Zebra-Unique-Password-4711"
	var logbuf bytes.Buffer
	dir := t.TempDir()
	h := slog.NewTextHandler(&logbuf, &slog.HandlerOptions{Level: slog.LevelDebug})
	ts := startServerLog(t, dir, h, func(c *config.Config) { c.LogLevel = "trace" })
	ts.addUser("frank", pw)
	c := ts.dial()
	mustHave(t, c.cmd("a1", "LOGIN frank wrong-"+pw), `^a1 NO`)
	c.login("frank", pw)
	c2 := ts.dial()
	mustHave(t, c2.cmd("b1", "AUTHENTICATE PLAIN "+b64("\x00frank\x00"+pw)), `^b1 OK`)
	c.expectOK("a2", "SELECT INBOX")
	c.expectOK("a3", "LOGOUT")
	ts.stop()
	if logbuf.Len() == 0 || !strings.Contains(logbuf.String(), "LOGIN") {
		t.Fatalf("trace did not log commands; log:\n%s", logbuf.String())
	}
	for _, needle := range []string{pw, b64("\x00frank\x00" + pw)} {
		if strings.Contains(logbuf.String(), needle) {
			t.Errorf("secret found in the log")
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder mode %v", fi.Mode().Perm())
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: mode %v, want 0700", p, fi.Mode().Perm())
			}
			return nil
		}
		if fi.Mode().Type()&fs.ModeSocket != 0 {
			return nil
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want 0600", p, fi.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("%s contains the plaintext password", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
