package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
	"barid/internal/testkit"
)

// lmtpDeliver delivers one message over an open LMTP session and
// reports whether it was acknowledged (250).
func lmtpDeliver(nc net.Conn, br *bufio.Reader, rcpt, body string) error {
	reply := func() (string, error) {
		var last string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return "", err
			}
			last = l
			if len(l) < 4 || l[3] != '-' {
				return last, nil
			}
		}
	}
	for _, step := range []struct{ send, want string }{
		{"MAIL FROM:<load@example.net>\r\n", "250"},
		{"RCPT TO:<" + rcpt + ">\r\n", "250"},
		{"DATA\r\n", "354"},
		{body + ".\r\n", "250"},
	} {
		if _, err := nc.Write([]byte(step.send)); err != nil {
			return err
		}
		l, err := reply()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(l, step.want) {
			return fmt.Errorf("%q: %q", strings.TrimSpace(step.send), l)
		}
	}
	return nil
}

// A backup taken while LMTP deliveries continue, then restored: every
// message acknowledged before the backup started is in the restored
// data folder, nothing in it is half-written ("barid check" finds no
// damage), and messages delivered during the backup may or may not be
// there but are whole. Then one message file of the restored folder is
// damaged and another removed, and "barid check" reports both and
// exits 1.
func TestBackupUnderLMTPLoadRestoreAndCheck(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener(), func(c *config.Config) {
		c.LMTP.Listen = "127.0.0.1:0"
		c.Storage.InlineMaxBytes = 2048 // both inline messages and files
	})
	s.AddUser("alice", "pw")
	lmtpAddr := s.App.Addrs()["lmtp"]
	if lmtpAddr == "" {
		t.Fatal("no lmtp listener")
	}
	var (
		mu    sync.Mutex
		acked []string // Message-IDs in order of acknowledgement
		stop  atomic.Bool
		wg    sync.WaitGroup
		errs  = make(chan error, 4)
	)
	for w := range 3 {
		wg.Go(func() {
			nc, err := net.Dial("tcp", lmtpAddr)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			br := bufio.NewReader(nc)
			br.ReadString('\n')
			fmt.Fprintf(nc, "LHLO test\r\n")
			for {
				l, _ := br.ReadString('\n')
				if len(l) < 4 || l[3] != '-' {
					break
				}
			}
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("<w%d.%d@load>", w, i)
				size := 100 + (i%7)*1000 // some above inline_max_bytes
				body := "Message-ID: " + id + "\r\nSubject: load\r\n\r\n" + strings.Repeat("x", size) + "\r\n"
				if err := lmtpDeliver(nc, br, "alice@localhost", body); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	// Let the load build up, then note what has been acknowledged and
	// start the backup while it continues.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 150 {
			break
		}
		select {
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	out := filepath.Join(t.TempDir(), "backup")
	code, stdout, stderr := adminRun(t, "backup", "--data", s.Dir, out)
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	// Keep delivering a little after the backup too.
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("backup: exit %d: %s %s", code, stdout, stderr)
	}
	t.Logf("%d acknowledged before the backup, %d during it; %s", len(before), during, strings.TrimSpace(stdout))
	if during == 0 {
		t.Log("no delivery completed during the backup: the load did not overlap it")
	}

	restored := t.TempDir()
	if code, o, e := adminRun(t, "restore", out, "--data", restored); code != 0 {
		t.Fatalf("restore: %d %s %s", code, o, e)
	}
	if code, o, e := adminRun(t, "check", "--data", restored); code != 0 {
		t.Fatalf("check after restore: %d %s %s", code, o, e)
	}
	// Every message acknowledged before the backup started is there.
	cfg := config.Default()
	cfg.DataDir = restored
	d, err := app.OpenData(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acct, err := d.Store.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := d.Store.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	_, uids, err := d.Store.MessageUIDs(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{} // Message-ID -> blob
	var files []string
	d.Store.FetchMessages(ctx, inbox.ID, uids, store.FieldHeader|store.FieldBasics, func(m *store.Message) error {
		for _, l := range strings.Split(string(m.Header), "\r\n") {
			if v, ok := strings.CutPrefix(l, "Message-ID: "); ok {
				have[v] = m.BlobID
				if m.Size > 2048 && len(files) < 2 {
					files = append(files, m.BlobID)
				}
			}
		}
		return nil
	})
	d.Close()
	missing := 0
	for _, id := range before {
		if _, ok := have[id]; !ok {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged before the backup, missing after restore: %s", id)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages missing", missing, len(before))
	}
	if len(have) < len(before) || len(files) < 2 {
		t.Fatalf("restored %d messages (%d before the backup), %d message files", len(have), len(before), len(files))
	}

	// Damage: one file altered, another removed.
	path := func(id string) string { return filepath.Join(restored, "blobs", id[:2], id) }
	if _, err := os.Stat(path(files[0])); err != nil {
		t.Fatalf("blob layout: %v", err)
	}
	os.Chmod(path(files[0]), 0o600)
	f, err := os.OpenFile(path(files[0]), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("Y"), 40)
	f.Close()
	if err := os.Remove(path(files[1])); err != nil {
		t.Fatal(err)
	}
	code, o, e := adminRun(t, "check", "--data", restored)
	if code != 1 || !strings.Contains(o, "DAMAGE: blob "+files[0]+": content does not hash to its name") ||
		!strings.Contains(o, "message bytes missing (blob "+files[1]+")") || !strings.Contains(e, "2 problems found") {
		t.Fatalf("check of a damaged folder: exit %d\n%s\n%s", code, o, e)
	}
}

// backup and restore refuse what they cannot do, with a reason.
func TestBackupRefusals(t *testing.T) {
	dir := t.TempDir()
	if code, _, e := adminRun(t, "backup", "--data", dir, filepath.Join(dir, "out")); code != 1 || !strings.Contains(e, "no database to back up") {
		t.Errorf("backup of an empty folder: %d %q", code, e)
	}
	if code, _, e := adminRun(t, "backup", "--metadata", "postgres://u@127.0.0.1:1/db", "--data", dir, filepath.Join(dir, "out")); code != 1 || !strings.Contains(e, "pg_dump") {
		t.Errorf("backup with PostgreSQL: %d %q", code, e)
	}
	if code, _, e := adminRun(t, "restore", dir, "--data", t.TempDir()); code != 1 || !strings.Contains(e, "not a barid backup") {
		t.Errorf("restore of a non-backup: %d %q", code, e)
	}

	// A data folder that lost a message file: the backup takes its
	// snapshots again (the file might have been swept meanwhile), then
	// says the folder is damaged and lists the file in its manifest.
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Storage.InlineMaxBytes = 0
	d, err := app.OpenData(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.CreateAccountWith(context.Background(), d.Store, "alice", "pw", testkit.CheapParams); err != nil {
		t.Fatal(err)
	}
	d.Close()
	os.WriteFile(filepath.Join(dir, "barid.toml"), []byte("data_dir = "+strconv.Quote(dir)+"\n[storage]\ninline_max_bytes = 0\n"), 0o600)
	if code, out := deliverRun(t, "Subject: x\r\n\r\nbody\r\n", "--config", filepath.Join(dir, "barid.toml"), "alice"); code != 0 {
		t.Fatal(out)
	}
	var lost string
	filepath.Walk(filepath.Join(dir, "blobs"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && len(fi.Name()) == 64 {
			lost = fi.Name()
			os.Remove(p)
		}
		return nil
	})
	if lost == "" {
		t.Fatal("the message was not stored as a file")
	}
	out := filepath.Join(t.TempDir(), "b")
	code, _, e := adminRun(t, "backup", "--data", dir, out)
	m, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	if code != 1 || !strings.Contains(e, "1 referenced blobs are missing") || !strings.Contains(string(m), lost) || !strings.Contains(string(m), `"snapshots": 3`) {
		t.Errorf("backup of a damaged folder: %d %q\n%s", code, e, m)
	}
}

// On the PostgreSQL backend: check verifies the data (and reports a
// damaged message file), the admin CLI works through the server, and
// backup and restore point to pg_dump.
func TestCheckAndAdminOnPostgres(t *testing.T) {
	url := pgtest.Database(t)
	s := testkit.Start(t, testkit.WithoutTLSListener(), testkit.WithMetadata(url), func(c *config.Config) {
		c.Storage.InlineMaxBytes = 0 // every message a file
	})
	s.AddUser("alice", "pw")
	c := testkit.DialAddr(t, s.Addr)
	c.Login("alice", "pw")
	for i := range 3 {
		msg := fmt.Sprintf("Subject: m%d\r\n\r\n%s\r\n", i, strings.Repeat("y", 100*(i+1)))
		c.Send(fmt.Sprintf("A APPEND INBOX {%d+}\r\n%s\r\n", len(msg), msg))
		c.Until("A")
	}
	pg := []string{"--data", s.Dir, "--metadata", url}
	if code, o, e := adminRun(t, append([]string{"check"}, pg...)...); code != 0 || !strings.Contains(o, "3 messages; 3 message files") {
		t.Fatalf("check: %d %s %s", code, o, e)
	}
	if code, o, e := adminRun(t, append([]string{"search", "alice", "INBOX", "SUBJECT m1"}, pg...)...); code != 0 || o != "2\n" {
		t.Errorf("search: %d %q %s", code, o, e)
	}
	if code, o, e := adminRun(t, append([]string{"expunge", "--json", "alice", "INBOX", "LARGER 250"}, pg...)...); code != 0 || !strings.Contains(o, `"via": "server"`) {
		t.Errorf("expunge: %d %q %s", code, o, e)
	}
	if code, _, e := adminRun(t, append([]string{"backup"}, append(pg, filepath.Join(t.TempDir(), "b"))...)...); code != 1 || !strings.Contains(e, "pg_dump") {
		t.Errorf("backup on PostgreSQL: %d %s", code, e)
	}
	// Damage the file of the remaining message.
	var damaged bool
	filepath.Walk(filepath.Join(s.Dir, "blobs"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && len(fi.Name()) == 64 && !damaged {
			os.Chmod(p, 0o600)
			os.WriteFile(p, []byte("Subject: m0\r\n\r\nzzz\r\n"), 0o600)
			damaged = true
		}
		return nil
	})
	if !damaged {
		t.Fatal("no message file found")
	}
	code, o, _ := adminRun(t, append([]string{"check"}, pg...)...)
	if code != 1 || !strings.Contains(o, "content does not hash to its name") {
		t.Errorf("check of damaged data: %d %s", code, o)
	}
}
