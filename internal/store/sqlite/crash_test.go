package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"barid/internal/store"
)

// TestKillDuringWrites runs a child process that appends concurrently and
// prints every UID it got back, kills it with SIGKILL mid-stream, and
// checks after reopening that every acknowledged UID is there and that
// UIDNEXT is past all of them (a process crash loses nothing that was
// acknowledged; power loss is covered by synchronous=FULL, which a test
// cannot pull the plug on).
func TestKillDuringWrites(t *testing.T) {
	if os.Getenv("BARID_SQLITE_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	for _, syncer := range []bool{false, true} {
		t.Run(fmt.Sprintf("WALSyncer=%v", syncer), func(t *testing.T) { killDuringWrites(t, syncer) })
	}
}

// killDuringWrites is one TestKillDuringWrites run, with the WAL fsync in
// COMMIT or on the syncer (durable.go).
func killDuringWrites(t *testing.T, syncer bool) {
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringWrites$")
	cmd.Env = append(os.Environ(), "BARID_SQLITE_CRASH_CHILD="+path, fmt.Sprintf("BARID_SQLITE_CRASH_SYNCER=%v", syncer))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []store.UID
	var mbID int64
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "mailbox "); ok {
			mbID, _ = strconv.ParseInt(id, 10, 64)
			continue
		}
		u, err := strconv.ParseUint(strings.TrimPrefix(line, "uid "), 10, 32)
		if err != nil {
			continue
		}
		acked = append(acked, store.UID(u))
		if len(acked) == 150 || time.Now().After(deadline) {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
	if len(acked) == 0 || mbID == 0 {
		t.Fatalf("child acknowledged nothing (mailbox %d)", mbID)
	}
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, uids, err := s.MessageUIDs(context.Background(), mbID)
	if err != nil {
		t.Fatal(err)
	}
	have := map[store.UID]bool{}
	for _, u := range uids {
		have[u] = true
	}
	for _, u := range acked {
		if !have[u] {
			t.Errorf("acknowledged UID %d lost", u)
		}
		if u >= mb.UIDNext {
			t.Errorf("UIDNEXT %d not past acknowledged UID %d", mb.UIDNext, u)
		}
	}
	st, err := s.MailboxStatus(context.Background(), mbID)
	if err != nil || int(st.Messages) != len(uids) {
		t.Fatalf("counters after crash: %+v vs %d rows (%v)", st, len(uids), err)
	}
	t.Logf("%d acknowledged, %d present after SIGKILL", len(acked), len(uids))
}

func crashChild() {
	ctx := context.Background()
	s, err := Open(ctx, os.Getenv("BARID_SQLITE_CRASH_CHILD"), Options{WALSyncer: os.Getenv("BARID_SQLITE_CRASH_SYNCER") == "true"})
	if err != nil {
		panic(err)
	}
	a, err := s.CreateAccount(ctx, "crash", nil)
	if err != nil {
		panic(err)
	}
	mb, err := s.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "mailbox %d\n", mb.ID)
	w.Flush()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				uids, _, err := s.AppendMessages(ctx, mb.ID, []store.NewMessage{{BlobID: fmt.Sprint(g, i), Size: 10}})
				if err != nil {
					panic(err)
				}
				mu.Lock()
				fmt.Fprintf(w, "uid %d\n", uids[0])
				w.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
