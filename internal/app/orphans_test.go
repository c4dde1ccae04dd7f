package app_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
)

// blobFiles lists the files under <data>/blobs (spool and shards).
func blobFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dataDir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dataDir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitNoBlobFiles polls until no blob file is left, or fails.
func waitNoBlobFiles(t *testing.T, dataDir string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		files := blobFiles(t, dataDir)
		if len(files) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("blob files left %v after an aborted transfer: %v", within, files)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// messageBody is a message of about size bytes (over inline_max_bytes,
// so it is spooled to a blob file).
func messageBody(size int) string {
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nTo: alice@localhost\r\nSubject: big\r\n\r\n")
	for b.Len() < size {
		b.WriteString("0123456789012345678901234567890123456789012345678901234567890123456789\r\n")
	}
	return b.String()
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, l)
	}
	return l
}

// TestAbortedTransfersLeaveNoBlob: a client that disconnects in the
// middle of an APPEND literal, or of LMTP DATA, leaves no blob file
// behind while the server runs (not only until the next start's sweep).
func TestAbortedTransfersLeaveNoBlob(t *testing.T) {
	dir := t.TempDir()
	cfg := lmtpTestConfig(t, dir)
	cfg.Storage.InlineMaxBytes = 0 // every message goes to a blob file
	s := startLMTPApp(t, cfg)
	lmtpAddUser(t, s.app.Data().Store, "alice", "pw")
	msg := messageBody(300 << 10)

	t.Run("APPEND", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addrs["imap"])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		readLine(t, r)
		fmt.Fprintf(c, "a LOGIN alice pw\r\n")
		if l := readLine(t, r); !strings.HasPrefix(l, "a OK") {
			t.Fatalf("LOGIN: %q", l)
		}
		fmt.Fprintf(c, "b APPEND INBOX {%d}\r\n", len(msg))
		if l := readLine(t, r); !strings.HasPrefix(l, "+") {
			t.Fatalf("APPEND: %q", l)
		}
		c.Write([]byte(msg[:len(msg)/2]))
		waitFor(t, func() bool { return len(blobFiles(t, dir)) > 0 }, "the spool file of the literal")
		c.Close()
		waitNoBlobFiles(t, dir, 5*time.Second)
	})
	t.Run("LMTP", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addrs["lmtp"])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		readLine(t, r)
		fmt.Fprintf(c, "LHLO test\r\n")
		for {
			if l := readLine(t, r); strings.HasPrefix(l, "250 ") {
				break
			}
		}
		for _, cmd := range []string{"MAIL FROM:<a@example.org>", "RCPT TO:<alice@localhost>"} {
			fmt.Fprintf(c, "%s\r\n", cmd)
			if l := readLine(t, r); !strings.HasPrefix(l, "250") {
				t.Fatalf("%s: %q", cmd, l)
			}
		}
		fmt.Fprintf(c, "DATA\r\n")
		if l := readLine(t, r); !strings.HasPrefix(l, "354") {
			t.Fatalf("DATA: %q", l)
		}
		c.Write([]byte(msg[:len(msg)/2]))
		waitFor(t, func() bool { return len(blobFiles(t, dir)) > 0 }, "the spool file of DATA")
		c.Close()
		waitNoBlobFiles(t, dir, 5*time.Second)
	})
}

// imapLogin connects to IMAP and logs in as alice.
func imapLogin(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	readLine(t, r)
	fmt.Fprintf(c, "a LOGIN alice pw\r\n")
	if l := readLine(t, r); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("LOGIN: %q", l)
	}
	return c, r
}

// TestFailedAppendTakesBlobBack: a message whose literal arrived whole
// but whose command then failed (a MULTIAPPEND cut off in its second
// literal, an APPEND whose client vanished before the final CRLF)
// already has a committed blob file; it is taken back at once, not left
// for the periodic sweep. A blob that a stored message shares is kept.
func TestFailedAppendTakesBlobBack(t *testing.T) {
	dir := t.TempDir()
	cfg := lmtpTestConfig(t, dir)
	cfg.Storage.InlineMaxBytes = 0
	s := startLMTPApp(t, cfg)
	acct := lmtpAddUser(t, s.app.Data().Store, "alice", "pw")
	msg := messageBody(200 << 10)

	t.Run("MULTIAPPEND cut off", func(t *testing.T) {
		c, r := imapLogin(t, s.addrs["imap"])
		fmt.Fprintf(c, "b APPEND INBOX {%d}\r\n", len(msg))
		if l := readLine(t, r); !strings.HasPrefix(l, "+") {
			t.Fatalf("APPEND: %q", l)
		}
		fmt.Fprintf(c, "%s {%d}\r\n", msg, len(msg)+1)
		if l := readLine(t, r); !strings.HasPrefix(l, "+") {
			t.Fatalf("second literal: %q", l)
		}
		c.Write([]byte(msg[:1000]))
		// The first message's blob is committed by now.
		waitFor(t, func() bool { return len(blobFiles(t, dir)) >= 2 }, "the first blob and the second spool file")
		c.Close()
		waitNoBlobFiles(t, dir, 5*time.Second)
	})
	t.Run("APPEND without its final CRLF", func(t *testing.T) {
		c, r := imapLogin(t, s.addrs["imap"])
		fmt.Fprintf(c, "b APPEND INBOX {%d}\r\n", len(msg))
		if l := readLine(t, r); !strings.HasPrefix(l, "+") {
			t.Fatalf("APPEND: %q", l)
		}
		c.Write([]byte(msg))
		waitFor(t, func() bool {
			for _, f := range blobFiles(t, dir) {
				if !strings.Contains(f, "tmp") {
					return true
				}
			}
			return false
		}, "the committed blob")
		c.Close()
		waitNoBlobFiles(t, dir, 5*time.Second)
	})
	t.Run("shared blob kept", func(t *testing.T) {
		c, r := imapLogin(t, s.addrs["imap"])
		fmt.Fprintf(c, "b APPEND INBOX {%d}\r\n", len(msg))
		readLine(t, r)
		fmt.Fprintf(c, "%s\r\n", msg)
		if l := readLine(t, r); !strings.HasPrefix(l, "b OK") {
			t.Fatalf("APPEND: %q", l)
		}
		// The same bytes again, then the command fails: the blob is
		// the stored message's too and must stay.
		fmt.Fprintf(c, "c APPEND INBOX {%d}\r\n", len(msg))
		readLine(t, r)
		fmt.Fprintf(c, "%s junk\r\n", msg)
		if l := readLine(t, r); !strings.HasPrefix(l, "c BAD") {
			t.Fatalf("APPEND with junk after the literal: %q", l)
		}
		if n := lmtpCount(t, s.app.Data().Store, acct, "INBOX"); n != 1 {
			t.Fatalf("INBOX holds %d messages, want 1", n)
		}
		fmt.Fprintf(c, "d EXAMINE INBOX\r\n")
		for l := readLine(t, r); !strings.HasPrefix(l, "d "); l = readLine(t, r) {
		}
		fmt.Fprintf(c, "e FETCH 1 BODY.PEEK[]\r\n")
		if l := readLine(t, r); !strings.Contains(l, fmt.Sprintf("{%d}", len(msg))) {
			t.Fatalf("FETCH: %q", l)
		}
		if files := blobFiles(t, dir); len(files) != 1 {
			t.Fatalf("blob files %v, want the stored message's one", files)
		}
	})
}

// TestSweepWhileRunning: the periodic sweep (storage.sweep_interval)
// removes, while the server runs, a committed blob no message references
// and a spool file no writer owns, both older than sweep_grace, and
// keeps a young unreferenced blob (it may be about to be committed).
func TestSweepWhileRunning(t *testing.T) {
	dir := t.TempDir()
	cfg := lmtpTestConfig(t, dir)
	cfg.Storage.SweepInterval = config.Duration{Duration: time.Second}
	cfg.Storage.SweepGrace = config.Duration{Duration: time.Minute}
	startLMTPApp(t, cfg)
	put := func(rel string, body string, age time.Duration) string {
		p := filepath.Join(dir, rel)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return rel
	}
	blobRel := func(body string) string {
		sum := sha256.Sum256([]byte(body))
		id := hex.EncodeToString(sum[:])
		return filepath.Join("blobs", id[:2], id)
	}
	oldBlob := put(blobRel("orphan"), "orphan", time.Hour)
	oldSpool := put(filepath.Join("blobs", "tmp", "0123456789abcdef01234567"), "partial", time.Hour)
	youngBlob := put(blobRel("young"), "young", 0)
	waitFor(t, func() bool {
		_, e1 := os.Stat(filepath.Join(dir, oldBlob))
		_, e2 := os.Stat(filepath.Join(dir, oldSpool))
		return os.IsNotExist(e1) && os.IsNotExist(e2)
	}, "sweep of the old orphan blob and spool file")
	if _, err := os.Stat(filepath.Join(dir, youngBlob)); err != nil {
		t.Fatalf("young blob removed: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
