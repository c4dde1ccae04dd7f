package e2e

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/blob/s3/s3test"
	"barid/internal/store/postgres/pgtest"
)

var (
	fetchUIDRE    = regexp.MustCompile(`\bUID (\d+)`)
	fetchModSeqRE = regexp.MustCompile(`\bMODSEQ \((\d+)\)`)
)

// TestTwoNodeKill9: two barid processes, nodes A and B, on one
// PostgreSQL database and one S3 bucket (every message's bytes in S3),
// take APPENDs (two sessions on each node) and LMTP deliveries (one
// client on each node) at once; node A is killed with SIGKILL in the
// middle, B keeps working a little longer. Then, read through node B:
//   - every APPEND that got OK [APPENDUID] on either node is there under
//     that UID with identical bytes, and every delivery that got 250 is
//     there exactly once (issue #16: nothing acknowledged is lost when a
//     node dies);
//   - no UID was acknowledged twice, each session's UIDs rise, and in
//     UID order the messages' MODSEQs rise strictly (both are taken
//     under the mailbox's row lock in the message's own transaction, so
//     writers on two nodes cannot interleave them);
//   - nothing is present that no client sent.
//
// Node A then starts again on its data folder: a new APPEND there gets a
// UID above all of them, and its start-up sweep reports no row whose
// bytes are missing.
func TestTwoNodeKill9(t *testing.T) {
	t.Parallel()
	db := pgtest.Database(t)
	blobs := s3test.URL(t)
	bin := baridBinary(t)
	dataA, dataB := t.TempDir(), t.TempDir()
	conf := filepath.Join(t.TempDir(), "barid.toml")
	if err := os.WriteFile(conf, []byte("[storage]\ninline_max_bytes = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shared := []string{"--config", conf, "--metadata", db, "--blobs", blobs}
	const user, pass = "twokill@example.org", "kill-nine"
	addUserCLI(t, bin, dataA, user, pass, shared...)
	node := func(data string) (*proc, string) {
		p := startProc(t, bin, data, append([]string{"--lmtp", "127.0.0.1:0"}, shared...)...)
		m := p.waitLog(lmtpListeningRE, 10*time.Second)
		if m == nil {
			t.Fatalf("no LMTP listener:\n%s", p.log)
		}
		return p, m[1]
	}
	a, lmtpA := node(dataA)
	b, lmtpB := node(dataB)

	var (
		mu        sync.Mutex
		acked     = map[uint32][]byte{} // UID -> bytes, APPEND acknowledged
		ackedBy   = map[uint32]string{}
		delivered = map[string][]byte{} // Message-ID -> body, 250 received
		sent      = map[string]bool{}   // every Message-ID sent
		fails     []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		fails = append(fails, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var stopB atomic.Bool
	var wg, armed sync.WaitGroup
	type writer struct {
		who, addr string
		lmtp      bool
		stop      *atomic.Bool // nil: until the connection fails
	}
	writers := []writer{
		{"A-imap0", a.addr, false, nil}, {"A-imap1", a.addr, false, nil}, {"A-lmtp", lmtpA, true, nil},
		{"B-imap0", b.addr, false, &stopB}, {"B-imap1", b.addr, false, &stopB}, {"B-lmtp", lmtpB, true, &stopB},
	}
	const armAfter = 3 // acknowledgements per writer before the kill
	armed.Add(len(writers) * armAfter)
	for i, w := range writers {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() {
			left := armAfter
			defer func() {
				for ; left > 0; left-- {
					armed.Done()
				}
			}()
			ack := func() {
				if left > 0 {
					left--
					armed.Done()
				}
			}
			if w.lmtp {
				lc, err := dialLMTP(w.addr)
				if err != nil {
					fail("%s: %v", w.who, err)
					return
				}
				defer lc.nc.Close()
				for n := 0; w.stop == nil || !w.stop.Load(); n++ {
					body := durableBody(w.who, n, r)
					id := string(messageIDRE.FindSubmatch(body)[1])
					mu.Lock()
					sent[id] = true
					mu.Unlock()
					if err := lc.deliver(user, body); err != nil {
						if w.stop != nil {
							fail("%s: delivery on the surviving node: %v", w.who, err)
						}
						return
					}
					mu.Lock()
					delivered[id] = body
					mu.Unlock()
					ack()
				}
				return
			}
			c, err := dial(w.addr, w.who)
			if err != nil {
				fail("%s: %v", w.who, err)
				return
			}
			defer c.close()
			c.timeout = time.Minute
			if err := c.login(user, pass); err != nil {
				fail("%s: %v", w.who, err)
				return
			}
			var last uint32
			for n := 0; w.stop == nil || !w.stop.Load(); n++ {
				body := durableBody(w.who, n, r)
				id := string(messageIDRE.FindSubmatch(body)[1])
				mu.Lock()
				sent[id] = true
				mu.Unlock()
				u, _, err := c.appendMsg("INBOX", "", string(body))
				if err != nil {
					if w.stop != nil {
						fail("%s: APPEND on the surviving node: %v", w.who, err)
					}
					return // node A is gone
				}
				if u <= last {
					fail("%s: APPENDUID %d after %d", w.who, u, last)
				}
				last = u
				mu.Lock()
				if other, dup := ackedBy[u]; dup {
					fails = append(fails, fmt.Sprintf("UID %d acknowledged to %s and to %s", u, other, w.who))
				}
				acked[u], ackedBy[u] = body, w.who
				mu.Unlock()
				ack()
			}
		})
	}
	armed.Wait()
	time.Sleep(time.Duration(50+rand.IntN(300)) * time.Millisecond)
	a.kill()
	// B goes on alone for a moment, then its writers stop.
	time.Sleep(300 * time.Millisecond)
	stopB.Store(true)
	wg.Wait()
	mu.Lock()
	for _, f := range fails {
		t.Error(f)
	}
	t.Logf("node A killed: %d APPENDs and %d deliveries acknowledged over both nodes", len(acked), len(delivered))
	mu.Unlock()

	// Everything, read through node B.
	c, err := dial(b.addr, "check")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.timeout = time.Minute
	if err := c.login(user, pass); err != nil {
		t.Fatal(err)
	}
	if _, err := c.selectBox("INBOX", true); err != nil {
		t.Fatal(err)
	}
	present, err := c.fetchBodies()
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range acked {
		got, ok := present[u]
		switch {
		case !ok:
			t.Errorf("acknowledged UID %d (%s, %d bytes) is missing", u, ackedBy[u], len(want))
		case sha256.Sum256(got) != sha256.Sum256(want):
			t.Errorf("UID %d holds %d bytes that differ from the %d acknowledged", u, len(got), len(want))
		}
	}
	byID := map[string]int{}
	for u, body := range present {
		m := messageIDRE.FindSubmatch(body)
		if m == nil || !sent[string(m[1])] {
			t.Errorf("UID %d holds a message no client sent", u)
			continue
		}
		byID[string(m[1])]++
	}
	for id, body := range delivered {
		if n := byID[id]; n != 1 {
			t.Errorf("delivery %s (%d bytes) acknowledged, present %d times", id, len(body), n)
		}
	}
	// MODSEQ rises with the UID.
	r, err := c.cmd("UID FETCH 1:* (MODSEQ)")
	if err != nil || !r.ok() {
		t.Fatalf("UID FETCH MODSEQ: %v\n%s", err, r)
	}
	type um struct{ uid, modseq uint64 }
	var ums []um
	for _, l := range r.untagged {
		mU, mm := fetchUIDRE.FindStringSubmatch(l), fetchModSeqRE.FindStringSubmatch(l)
		if mU == nil || mm == nil {
			continue
		}
		u, _ := strconv.ParseUint(mU[1], 10, 32)
		m, _ := strconv.ParseUint(mm[1], 10, 64)
		ums = append(ums, um{u, m})
	}
	if len(ums) != len(present) {
		t.Fatalf("MODSEQ for %d messages, %d present", len(ums), len(present))
	}
	slices.SortFunc(ums, func(x, y um) int { return int(x.uid) - int(y.uid) })
	for i := 1; i < len(ums); i++ {
		if ums[i].modseq <= ums[i-1].modseq {
			t.Errorf("UID %d has MODSEQ %d, not above UID %d's %d", ums[i].uid, ums[i].modseq, ums[i-1].uid, ums[i-1].modseq)
		}
	}
	maxUID := uint32(0)
	for u := range present {
		maxUID = max(maxUID, u)
	}

	// Node A again, on its own data folder.
	a2, _ := node(dataA)
	c2, err := dial(a2.addr, "after")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.close()
	if err := c2.login(user, pass); err != nil {
		t.Fatal(err)
	}
	u, _, err := c2.appendMsg("INBOX", "", testMessage("after the restart"))
	if err != nil {
		t.Fatal(err)
	}
	if u <= maxUID {
		t.Errorf("APPEND on the restarted node A got UID %d, not above %d", u, maxUID)
	}
	for _, p := range []*proc{a2, b} {
		if l := p.log.String(); regexp.MustCompile(`rows_with_missing_bytes=[1-9]|message bytes missing`).MatchString(l) {
			t.Errorf("a node reports missing bytes:\n%s", l)
		}
	}
	t.Logf("%d messages present (UIDs to %d); %d of them acknowledged APPENDs, %d acknowledged deliveries", len(present), maxUID, len(acked), len(delivered))
}
