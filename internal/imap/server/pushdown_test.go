package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/store"
)

// SEARCH answered by the store (store.CriteriaSearcher) and SEARCH
// evaluated in the session must agree on every key: the corpus of
// testdata/mime, with flags and dates spread over it, searched both ways.
func TestSearchPushdownAgrees(t *testing.T) {
	ctx := context.Background()
	f := newStoreFixture(t, "sam")
	files, _ := filepath.Glob("../../../testdata/mime/*.eml")
	if len(files) < 40 {
		t.Fatalf("corpus: %d files", len(files))
	}
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var fl store.Flags
		if i%2 == 0 {
			fl.System |= store.FlagSeen
		}
		if i%5 == 0 {
			fl.System |= store.FlagFlagged | store.FlagAnswered
			fl.Keywords = []string{"$Work"}
		}
		if i%7 == 0 {
			fl.System |= store.FlagDeleted
			fl.Keywords = append(fl.Keywords, "Later")
		}
		date := time.Date(2026, 1, 1+i%20, 23, 30, 0, 0, time.FixedZone("", (i%5-2)*3600))
		if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader(string(b)), 0, fl, date); err != nil {
			t.Fatal(err)
		}
	}
	session := func(noPushdown bool) func(string) string {
		addr := f.serve(t, Config{NoSearchPushdown: noPushdown}, nil)
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		br := bufio.NewReader(nc)
		br.ReadString('\n')
		n := 0
		return func(cmd string) string {
			n++
			tag := fmt.Sprintf("t%d", n)
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(nc, "%s %s\r\n", tag, cmd)
			var out []string
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
				if strings.HasPrefix(l, tag+" ") {
					return strings.Join(out, "") + l[len(tag):]
				}
				out = append(out, l)
			}
		}
	}
	fast, slow := session(false), session(true)
	for _, c := range []string{"LOGIN sam pw", "EXAMINE INBOX"} {
		fast(c)
		slow(c)
	}
	keys := []string{
		"ALL", "SEEN", "UNSEEN", "FLAGGED", "DELETED UNANSWERED", "KEYWORD $work", "UNKEYWORD later", "KEYWORD nosuch",
		"LARGER 2000", "SMALLER 500", "BEFORE 10-Jan-2026", "ON 5-Jan-2026", "SINCE 15-Jan-2026", "ON 2-Jan-2026",
		"SENTBEFORE 1-Jan-2023", "SENTON 14-Nov-2023", "SENTSINCE 1-Dec-2023", "SAVEDSINCE 1-Jan-2026",
		`FROM "example"`, `TO "bob"`, `CC "a"`, `BCC "x"`, `SUBJECT "re"`, `SUBJECT ""`, `FROM "müller"`,
		"OR SEEN FLAGGED", "NOT SEEN", "NOT (SEEN FLAGGED)", "OR (FROM alice) (NOT LARGER 1000)",
		"1:10", "5:*", "200", "*", "UID 3:7", "UID 90:*", "2,4,6:8 UNSEEN", "NOT 1:50",
		"OR KEYWORD $work SENTON 16-Nov-2023", "(SINCE 1-Jan-2026 BEFORE 8-Jan-2026) NOT DELETED",
	}
	for _, k := range keys {
		for _, form := range []string{"SEARCH ", "UID SEARCH ", "SEARCH CHARSET UTF-8 "} {
			a, b := fast(form+k), slow(form+k)
			if a != b {
				t.Errorf("%s%s:\n store: %s session: %s", form, k, a, b)
			}
			if form == "SEARCH " {
				t.Logf("%s -> %d bytes", k, len(a))
			}
			if !strings.Contains(a, "OK") {
				t.Errorf("%s%s failed: %s", form, k, a)
			}
		}
	}
}
