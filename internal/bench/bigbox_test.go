package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"barid/internal/testkit"
)

// bigbox with -server-pid reports the server's CPU time for every run
// of every operation (the per-command figure docs/benchmarks.md quotes
// for the 1,000,000-message mailbox), in its JSON record and in its
// table. The server runs in this process, so its PID is ours.
func TestBigboxServerCPUPerRun(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener())
	s.AddUser("user1", "pw")
	c := s.Dial()
	c.Login("user1", "pw")
	for i := range 20 {
		m := testkit.Message("bigbox " + strconv.Itoa(i))
		c.ExpectOK("a", "APPEND INBOX {"+strconv.Itoa(len(m))+"+}\r\n"+m)
	}
	js := filepath.Join(t.TempDir(), "r.jsonl")
	var out, errb bytes.Buffer
	st := runBigbox(context.Background(), []string{"-addr", s.Addr, "-server", "barid", "-user", "user1",
		"-password", "pw", "-mailbox", "INBOX", "-ops", "FETCH_FLAGS,SEARCH_UNSEEN", "-repeat", "3",
		"-progress=false", "-server-pid", strconv.Itoa(os.Getpid()), "-json", js}, &out, &errb)
	if st != 0 {
		t.Fatalf("bigbox exit %d: %s%s", st, out.String(), errb.String())
	}
	f, err := os.Open(js)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ReadRecords(f)
	if err != nil || len(recs) != 1 || recs[0].Bigbox == nil {
		t.Fatalf("records: %v, %+v", err, recs)
	}
	ops := recs[0].Bigbox.Ops
	if len(ops) != 2 {
		t.Fatalf("%d ops, want 2: %+v", len(ops), ops)
	}
	for _, op := range ops {
		if op.Results != 20 || len(op.ServerCPUMs) != 3 {
			t.Errorf("%s: %d results, server CPU per run %v: want 20 results and 3 figures", op.Name, op.Results, op.ServerCPUMs)
		}
		for _, v := range op.ServerCPUMs {
			if v < 0 {
				t.Errorf("%s: negative server CPU %v", op.Name, v)
			}
		}
	}
	if !strings.Contains(out.String(), "server CPU ms") {
		t.Errorf("table without the server CPU column:\n%s", out.String())
	}
	// Without -server-pid there is nothing to report, and the column says so.
	out.Reset()
	st = runBigbox(context.Background(), []string{"-addr", s.Addr, "-user", "user1", "-password", "pw",
		"-mailbox", "INBOX", "-ops", "SEARCH_UNSEEN", "-repeat", "1", "-progress=false"}, &out, &errb)
	if st != 0 || !strings.Contains(out.String(), " - ") {
		t.Fatalf("bigbox without -server-pid: exit %d\n%s%s", st, out.String(), errb.String())
	}
}

// SEARCH_TEXT_COUNT reports the COUNT of UID SEARCH RETURN (COUNT) TEXT
// of the common word: the same number as SEARCH_TEXT_COMMON's results.
func TestBigboxSearchCount(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener())
	s.AddUser("user1", "pw")
	c := s.Dial()
	c.Login("user1", "pw")
	want := 0
	for i := range 12 {
		subject := "plain " + strconv.Itoa(i)
		if i%3 == 1 {
			subject = "kind regards " + strconv.Itoa(i)
			want++
		}
		m := testkit.Message(subject)
		c.ExpectOK("a", "APPEND INBOX {"+strconv.Itoa(len(m))+"+}\r\n"+m)
	}
	js := filepath.Join(t.TempDir(), "r.jsonl")
	var out, errb bytes.Buffer
	st := runBigbox(context.Background(), []string{"-addr", s.Addr, "-server", "barid", "-user", "user1",
		"-password", "pw", "-mailbox", "INBOX", "-ops", "SEARCH_TEXT_COMMON,SEARCH_TEXT_COUNT", "-repeat", "1",
		"-progress=false", "-json", js}, &out, &errb)
	if st != 0 {
		t.Fatalf("bigbox exit %d: %s%s", st, out.String(), errb.String())
	}
	f, err := os.Open(js)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ReadRecords(f)
	if err != nil || len(recs) != 1 || recs[0].Bigbox == nil || len(recs[0].Bigbox.Ops) != 2 {
		t.Fatalf("records: %v, %+v", err, recs)
	}
	for _, op := range recs[0].Bigbox.Ops {
		if op.Error != "" || op.Results != want {
			t.Errorf("%s: %d results, error %q; want %d", op.Name, op.Results, op.Error, want)
		}
	}
}
