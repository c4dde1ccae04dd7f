package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// openTempFiles lists this process's open temporary files that were
// deleted: a statement journal or sub-journal that spilled to a file is
// one of them while it is open (SQLite unlinks its temporary files,
// named etilqs_*, as soon as it opens them; here the link reads
// "/var/tmp/#<inode> (deleted)"). Database files of other tests whose
// folders were removed are not counted.
func openTempFiles(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	var out []string
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasSuffix(l, " (deleted)") &&
			(strings.HasPrefix(filepath.Base(l), "#") || strings.Contains(l, "etilqs_")) {
			out = append(out, l)
		}
	}
	return out
}

// TestStmtJournalInMemory runs a request that changes about 400 kB of
// existing pages inside a batch of two (so inside a SAVEPOINT, whose
// sub-journal then holds those pages) and checks that SQLite kept the
// sub-journal in memory (StmtJournalMemory) instead of a temporary
// file, which it does past its default of 64 KiB; and that rolling the
// request back to its savepoint still restores the pages, while the
// other request of the batch commits.
func TestStmtJournalInMemory(t *testing.T) {
	if stmtJournalErr != nil {
		t.Fatal(stmtJournalErr)
	}
	s, _, _ := openTest(t)
	ctx := context.Background()
	const rows = 400
	big := strings.Repeat("x", 1000)
	err := s.write(ctx, func(w *wtx) error {
		for i := range rows {
			if _, err := w.exec(`INSERT INTO meta (key, value) VALUES (?, ?)`, fmt.Sprintf("spill%04d", i), big); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Hold the writer so that the next two requests form one batch.
	release := make(chan struct{})
	started := make(chan struct{})
	go s.write(ctx, func(*wtx) error { close(started); <-release; return nil }) //nolint:errcheck
	<-started
	before := s.Stats()

	boom := errors.New("boom")
	var (
		wg       sync.WaitGroup
		spilled  []string
		errBig   error
		errOther error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errBig = s.write(ctx, func(w *wtx) error {
			if _, err := w.exec(`UPDATE meta SET value = 'y' || value WHERE key LIKE 'spill%'`); err != nil {
				return err
			}
			spilled = openTempFiles(t)
			return boom
		})
	}()
	go func() {
		defer wg.Done()
		errOther = s.write(ctx, func(w *wtx) error {
			_, err := w.exec(`INSERT INTO meta (key, value) VALUES ('other', 1)`)
			return err
		})
	}()
	time.Sleep(200 * time.Millisecond) // let both queue behind the held request
	close(release)
	wg.Wait()
	// In a batch of one the request runs without a savepoint, and this
	// test would check nothing.
	if got := s.Stats().Batches - before.Batches; got != 1 {
		t.Fatalf("the two requests took %d transactions, want 1", got)
	}

	if !errors.Is(errBig, boom) || errOther != nil {
		t.Fatalf("requests: %v, %v", errBig, errOther)
	}
	if len(spilled) > 0 {
		t.Errorf("the savepoint's sub-journal went to a file: %v", spilled)
	}
	var changed, other int
	err = s.read(ctx, func(r *reader) error {
		if err := r.queryRow(`SELECT count(*) FROM meta WHERE key LIKE 'spill%' AND value <> ?`, big).Scan(&changed); err != nil {
			return err
		}
		return r.queryRow(`SELECT count(*) FROM meta WHERE key = 'other'`).Scan(&other)
	})
	if err != nil {
		t.Fatal(err)
	}
	if changed != 0 || other != 1 {
		t.Fatalf("after rolling the request back: %d rows changed, other request's row %d times", changed, other)
	}
}
