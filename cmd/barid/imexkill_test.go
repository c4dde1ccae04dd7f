package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"barid/internal/testkit"
)

// TestImportKilledResumes kills "barid import maildir" with SIGKILL
// half way and runs it again: every batch committed before the kill
// stays (durable at the end of each batch), the second run adds exactly
// the rest with the source's UIDs, nothing is duplicated, and "barid
// check" finds the data folder sound.
//
// The source is 2,500 messages in one folder with a dovecot-uidlist;
// the file of UID 1500 is a named pipe, so the import commits its first
// batch (UIDs 1-1000, the engine's default of 1,000 messages) and then
// waits on the pipe with the second batch half read, where it is killed.
func TestImportKilledResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBarid(t)
	md := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const n, fifoUID = 2500, 1500
	var list strings.Builder
	fmt.Fprintf(&list, "3 V777 N%d G%032x\n", n+1, 1)
	body := func(i int) []byte {
		size := 200
		if i%97 == 0 {
			size = 70 << 10 // past inline_max_bytes: a blob file
		}
		return []byte(fmt.Sprintf("From: a@example.org\nSubject: message %d\nMessage-ID: <%d@example.org>\n\n%s\n",
			i, i, strings.Repeat(fmt.Sprintf("line of message %d\n", i), size/20)))
	}
	fifo := ""
	for i := 1; i <= n; i++ {
		base := fmt.Sprintf("%d.M%dP1.host", 1600000000+i, i)
		flags := ""
		if i%3 == 0 {
			flags = "S"
		}
		p := filepath.Join(md, "cur", base+":2,"+flags)
		if i == fifoUID {
			fifo = p
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		} else if err := os.WriteFile(p, body(i), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&list, "%d :%s\n", i, base)
	}
	if err := os.WriteFile(filepath.Join(md, "dovecot-uidlist"), []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "alice"); code != 0 {
		t.Fatal(errs)
	}
	cmd := exec.Command(bin, "import", "maildir", "--quiet", "--data", dir, "alice", md)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	// Another process reading the database while the import writes.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "barid.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var got int
		err := db.QueryRow(`SELECT count(*) FROM messages`).Scan(&got)
		if err == nil && got == 1000 {
			break
		}
		if err == nil && got > 1000 {
			t.Fatalf("%d messages committed past the pipe at UID %d", got, fifoUID)
		}
		select {
		case err := <-exited:
			t.Fatalf("import ended before the kill: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("first batch not committed after 2 minutes (last count %d, %v)\n%s", got, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("import after SIGKILL: %v", err)
	}
	db.Close()

	// The pipe becomes the message it stood for; the import resumes.
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fifo, body(fifoUID), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "import", "maildir", "--quiet", "--data", dir, "alice", md)
	if code != 0 || !strings.Contains(out, "UIDVALIDITY 777 (UIDs kept): 1500 imported, 1000 already there") {
		t.Fatalf("resumed import: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, "", "import", "maildir", "--quiet", "--data", dir, "alice", md); code != 0 || !strings.Contains(out, "0 imported, 2500 already there") {
		t.Fatalf("third run: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, "", "check", "--data", dir); code != 0 {
		t.Fatalf("check after the kill: %d %.2000s %q", code, out, errs)
	}

	srv := testkit.StartAt(t, dir, testkit.WithoutTLSListener())
	c := srv.Dial()
	c.Login("alice", "pw")
	sel := strings.Join(c.ExpectOK("s", "SELECT INBOX"), "\n")
	if !strings.Contains(sel, fmt.Sprintf("* %d EXISTS", n)) || !strings.Contains(sel, "[UIDVALIDITY 777]") || !strings.Contains(sel, fmt.Sprintf("[UIDNEXT %d]", n+1)) {
		t.Fatalf("after resuming:\n%s", sel)
	}
	// Each UID holds its own message: sample both sides of the kill,
	// the blob-file ones and the pipe's.
	for _, uid := range []int{1, 97, 1000, 1001, 1455, fifoUID, 2425, n} {
		got := strings.Join(c.ExpectOK("f", fmt.Sprintf("UID FETCH %d (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", uid)), "\n")
		if !strings.Contains(got, fmt.Sprintf("Subject: message %d\r", uid)) && !strings.Contains(got, fmt.Sprintf("Subject: message %d\n", uid)) {
			t.Errorf("UID %d:\n%s", uid, got)
		}
		if seen := strings.Contains(got, `\Seen`); seen != (uid%3 == 0) {
			t.Errorf("UID %d: \\Seen %v\n%s", uid, seen, got)
		}
	}
}
