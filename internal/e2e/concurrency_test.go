package e2e

import (
	"barid/internal/config"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// uidLedger records every UID a mailbox handed out in an acknowledged
// APPENDUID or COPYUID (RFC 4315) and checks the invariants of
// RFC 9051 §2.3.1.1: a UID is never handed out twice, and a command
// sent after another was acknowledged gets higher UIDs.
type uidLedger struct {
	name     string
	mu       sync.Mutex
	owner    map[uint32]string
	maxAcked uint32
	errs     []string
}

func newLedger(name string) *uidLedger {
	return &uidLedger{name: name, owner: map[uint32]string{}}
}

// floor is called before a command is sent.
func (l *uidLedger) floor() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxAcked
}

// assign records UIDs acknowledged for a command sent when floor was
// the highest acknowledged UID.
func (l *uidLedger) assign(floor uint32, who string, uids ...uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range uids {
		if prev, dup := l.owner[u]; dup {
			l.errs = append(l.errs, fmt.Sprintf("%s: UID %d handed out twice (%s, then %s)", l.name, u, prev, who))
		}
		l.owner[u] = who
		if u <= floor {
			l.errs = append(l.errs, fmt.Sprintf("%s: %s got UID %d, not above %d acknowledged before it was sent", l.name, who, u, floor))
		}
		l.maxAcked = max(l.maxAcked, u)
	}
}

// stress is the shared state of one concurrency run.
type stress struct {
	s        *server
	user     string
	inbox    *uidLedger
	archive  *uidLedger
	ops      atomic.Int64
	opCounts sync.Map // op name -> *atomic.Int64
	mu       sync.Mutex
	errs     []string // protocol errors
}

func (st *stress) fail(format string, args ...any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.errs) < 50 {
		st.errs = append(st.errs, fmt.Sprintf(format, args...))
	}
}

func (st *stress) count(op string) {
	st.ops.Add(1)
	v, _ := st.opCounts.LoadOrStore(op, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

var (
	copyUIDRE  = regexp.MustCompile(`\[COPYUID \d+ ([\d:,]+) ([\d:,]+)\]`)
	searchNums = regexp.MustCompile(`^\* SEARCH ?(.*)$`)
)

// expandSet expands "1:3,7" (UIDs in COPYUID, RFC 4315 §3).
func expandSet(s string) []uint32 {
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, _ := strconv.ParseUint(lo, 10, 32)
		b := a
		if isRange {
			b, _ = strconv.ParseUint(hi, 10, 32)
		}
		if a > b {
			a, b = b, a
		}
		for u := a; u <= b; u++ {
			out = append(out, uint32(u))
		}
	}
	return out
}

var keywordPool = []string{"$Label1", "$Label2", "Todo", "Later", "kw-a", "kw-b", "kw-c"}
var sysFlagPool = []string{`\Seen`, `\Flagged`, `\Answered`, `\Draft`}

func randFlags(r *rand.Rand) string {
	var f []string
	if r.IntN(2) == 0 {
		f = append(f, sysFlagPool[r.IntN(len(sysFlagPool))])
	}
	if r.IntN(3) == 0 {
		f = append(f, keywordPool[r.IntN(len(keywordPool))])
	}
	if len(f) == 0 {
		f = append(f, `\Seen`)
	}
	return strings.Join(f, " ")
}

// rawWorker drives a model-checking raw client.
type rawWorker struct {
	st   *stress
	c    *client
	r    *rand.Rand
	name string
}

// seqRange picks a random sequence range within the client's view.
func (w *rawWorker) seqRange() (string, bool) {
	n := len(w.c.uids)
	if n == 0 {
		return "", false
	}
	a := 1 + w.r.IntN(n)
	b := min(n, a+w.r.IntN(4))
	return fmt.Sprintf("%d:%d", a, b), true
}

// uidRange picks UIDs near the client's view (some may be gone).
func (w *rawWorker) uidRange() string {
	hi := max(w.c.maxUID, 1)
	a := 1 + uint32(w.r.IntN(int(hi)))
	return fmt.Sprintf("%d:%d", a, a+uint32(w.r.IntN(4)))
}

// forgetSeq and forgetUIDs drop what the model knows of the flags of
// messages about to get a .SILENT STORE: the server does not echo them
// (RFC 9051 §6.4.6), and this model does not apply its own changes.
func (w *rawWorker) forgetSeq(set string) {
	for _, n := range expandSet(set) {
		if int(n) <= len(w.c.uids) {
			delete(w.c.flags, w.c.uids[n-1])
		}
	}
}

func (w *rawWorker) forgetUIDs(set string) {
	for _, u := range expandSet(set) {
		delete(w.c.flags, u)
	}
}

// check classifies a response: BAD, or NO other than EXPUNGEISSUED, is
// a protocol error; so is an EXPUNGE in a command by sequence number.
func (w *rawWorker) check(op string, r *response, err error, seqCmd bool) error {
	if err != nil {
		return err
	}
	if r.status != "OK" && !(r.status == "NO" && strings.Contains(r.text, "[EXPUNGEISSUED]")) {
		w.st.fail("%s %s: %s %s", w.name, op, r.status, r.text)
	}
	if seqCmd && (r.has(`^\* \d+ EXPUNGE`) || r.has(`^\* VANISHED \d`)) {
		w.st.fail("%s %s: EXPUNGE sent while answering a command by sequence number:\n%s", w.name, op, r)
	}
	if r.has(`^\* BYE`) {
		return fmt.Errorf("%s %s: BYE: %s", w.name, op, r)
	}
	return nil
}

func (w *rawWorker) step() error {
	c, r := w.c, w.r
	switch p := r.IntN(100); {
	case p < 14: // APPEND to INBOX
		w.st.count("append")
		floor := w.st.inbox.floor()
		u, resp, err := c.appendMsg("INBOX", randFlags(r), testMessage(fmt.Sprintf("%s-%d", w.name, r.Uint32())))
		if err != nil {
			if resp != nil && resp.status != "" {
				w.st.fail("%s APPEND: %v", w.name, err)
				return nil
			}
			return err
		}
		w.st.inbox.assign(floor, w.name+" APPEND", u)
	case p < 26: // FETCH by sequence number
		w.st.count("fetch")
		set, ok := w.seqRange()
		if !ok {
			return nil
		}
		items := []string{"(UID FLAGS)", "(FLAGS MODSEQ)", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])", "FAST"}[r.IntN(4)]
		resp, err := c.cmd("FETCH %s %s", set, items)
		return w.check("FETCH", resp, err, true)
	case p < 34: // UID FETCH
		w.st.count("uid fetch")
		resp, err := c.cmd("UID FETCH %s (FLAGS MODSEQ)", w.uidRange())
		return w.check("UID FETCH", resp, err, false)
	case p < 44: // STORE by sequence number
		w.st.count("store")
		set, ok := w.seqRange()
		if !ok {
			return nil
		}
		op := []string{"+FLAGS", "-FLAGS", "+FLAGS.SILENT", "FLAGS"}[r.IntN(4)]
		if strings.HasSuffix(op, ".SILENT") {
			w.forgetSeq(set)
		}
		resp, err := c.cmd("STORE %s %s (%s)", set, op, randFlags(r))
		return w.check("STORE", resp, err, true)
	case p < 52: // UID STORE
		w.st.count("uid store")
		resp, err := c.cmd("UID STORE %s +FLAGS (%s)", w.uidRange(), randFlags(r))
		return w.check("UID STORE", resp, err, false)
	case p < 57: // SEARCH by sequence number
		w.st.count("search")
		n := len(c.uids)
		resp, err := c.cmd("SEARCH 1:* UNSEEN")
		if err := w.check("SEARCH", resp, err, true); err != nil {
			return err
		}
		for _, l := range resp.matching(`^\* SEARCH`) {
			for _, f := range strings.Fields(searchNums.FindStringSubmatch(l)[1]) {
				if k, _ := strconv.Atoi(f); k < 1 || k > n {
					w.st.fail("%s SEARCH: result %d outside the client's %d messages", w.name, k, n)
				}
			}
		}
	case p < 61: // COPY by sequence number to Archive
		w.st.count("copy")
		set, ok := w.seqRange()
		if !ok {
			return nil
		}
		floor := w.st.archive.floor()
		resp, err := c.cmd("COPY %s Archive", set)
		if err := w.check("COPY", resp, err, true); err != nil {
			return err
		}
		if m := copyUIDRE.FindStringSubmatch(resp.text); m != nil {
			w.st.archive.assign(floor, w.name+" COPY", expandSet(m[2])...)
		}
	case p < 64: // UID COPY within INBOX: new UIDs in the same mailbox
		w.st.count("uid copy inbox")
		floor := w.st.inbox.floor()
		resp, err := c.cmd("UID COPY %s INBOX", w.uidRange())
		if err := w.check("UID COPY", resp, err, false); err != nil {
			return err
		}
		if m := copyUIDRE.FindStringSubmatch(resp.text); m != nil {
			w.st.inbox.assign(floor, w.name+" UID COPY", expandSet(m[2])...)
		}
	case p < 69: // MOVE to Archive
		w.st.count("move")
		floor := w.st.archive.floor()
		var resp *response
		var err error
		if r.IntN(2) == 0 {
			resp, err = c.cmd("UID MOVE %s Archive", w.uidRange())
		} else if set, ok := w.seqRange(); ok {
			resp, err = c.cmd("MOVE %s Archive", set)
		} else {
			return nil
		}
		if err := w.check("MOVE", resp, err, false); err != nil {
			return err
		}
		for _, l := range append(resp.untagged, resp.text) {
			if m := copyUIDRE.FindStringSubmatch(l); m != nil {
				w.st.archive.assign(floor, w.name+" MOVE", expandSet(m[2])...)
			}
		}
	case p < 75: // \Deleted + EXPUNGE
		w.st.count("expunge")
		set := w.uidRange()
		w.forgetUIDs(set)
		resp, err := c.cmd(`UID STORE %s +FLAGS.SILENT (\Deleted)`, set)
		if err := w.check("STORE \\Deleted", resp, err, false); err != nil {
			return err
		}
		if r.IntN(2) == 0 {
			resp, err = c.cmd("EXPUNGE")
		} else {
			resp, err = c.cmd("UID EXPUNGE %s", w.uidRange())
		}
		return w.check("EXPUNGE", resp, err, false)
	case p < 85: // NOOP
		w.st.count("noop")
		resp, err := c.cmd("NOOP")
		return w.check("NOOP", resp, err, false)
	default: // IDLE for a while (RFC 2177)
		w.st.count("idle")
		tag, err := c.idle()
		if err != nil {
			return err
		}
		if _, _, err := c.idleWait(time.Duration(20+r.IntN(150))*time.Millisecond, nil); err != nil {
			return err
		}
		resp, err := c.idleDone(tag)
		return w.check("IDLE", resp, err, false)
	}
	return nil
}

// goWorker drives github.com/emersion/go-imap/v2's client, which keeps
// its own message count from EXISTS and EXPUNGE (Client.Mailbox).
type goWorker struct {
	st   *stress
	c    *imapclient.Client
	r    *rand.Rand
	name string

	mu     sync.Mutex
	maxUID imap.UID
}

func (w *goWorker) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Fetch: func(msg *imapclient.FetchMessageData) {
			for msg.Next() != nil {
			}
		},
	}
}

func (w *goWorker) uids() imap.UIDSet {
	w.mu.Lock()
	hi := max(uint32(w.maxUID), 1)
	w.mu.Unlock()
	a := 1 + uint32(w.r.IntN(int(hi)))
	return imap.UIDSet{{Start: imap.UID(a), Stop: imap.UID(a + uint32(w.r.IntN(3)))}}
}

// result classifies a command error: an *imap.Error with NO is allowed
// only as [EXPUNGEISSUED]; anything else is a protocol error.
func (w *goWorker) result(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		if ie.Type == imap.StatusResponseTypeNo && ie.Code == "EXPUNGEISSUED" {
			return nil
		}
		w.st.fail("%s %s: %v", w.name, op, err)
		return nil
	}
	return fmt.Errorf("%s %s: %w", w.name, op, err)
}

func (w *goWorker) step() error {
	c, r := w.c, w.r
	switch p := r.IntN(100); {
	case p < 20:
		w.st.count("append")
		msg := testMessage(fmt.Sprintf("%s-%d", w.name, r.Uint32()))
		floor := w.st.inbox.floor()
		cmd := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.Flag(keywordPool[r.IntN(len(keywordPool))])}})
		cmd.Write([]byte(msg))
		cmd.Close()
		data, err := cmd.Wait()
		if err := w.result("APPEND", err); err != nil || data == nil {
			return err
		}
		w.st.inbox.assign(floor, w.name+" APPEND", uint32(data.UID))
		w.mu.Lock()
		w.maxUID = max(w.maxUID, data.UID)
		w.mu.Unlock()
	case p < 40:
		w.st.count("uid fetch")
		msgs, err := c.Fetch(w.uids(), &imap.FetchOptions{UID: true, Flags: true, ModSeq: true}).Collect()
		if err := w.result("UID FETCH", err); err != nil {
			return err
		}
		for _, m := range msgs {
			w.mu.Lock()
			w.maxUID = max(w.maxUID, m.UID)
			w.mu.Unlock()
		}
	case p < 55:
		w.st.count("uid store")
		_, err := c.Store(w.uids(), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.Flag(sysFlagPool[r.IntN(len(sysFlagPool))])}}, nil).Collect()
		return w.result("UID STORE", err)
	case p < 62:
		w.st.count("copy")
		floor := w.st.archive.floor()
		data, err := c.Copy(w.uids(), "Archive").Wait()
		if err := w.result("UID COPY", err); err != nil || data == nil {
			return err
		}
		w.st.archive.assign(floor, w.name+" UID COPY", uidSetNums(data.DestUIDs)...)
	case p < 68:
		w.st.count("move")
		floor := w.st.archive.floor()
		data, err := c.Move(w.uids(), "Archive").Wait()
		if err := w.result("UID MOVE", err); err != nil || data == nil {
			return err
		}
		if dst, ok := data.DestUIDs.(imap.UIDSet); ok {
			w.st.archive.assign(floor, w.name+" UID MOVE", uidSetNums(dst)...)
		}
	case p < 75:
		w.st.count("expunge")
		if _, err := c.Store(w.uids(), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); w.result("STORE", err) != nil {
			return err
		}
		return w.result("EXPUNGE", c.Expunge().Close())
	case p < 85:
		w.st.count("noop")
		return w.result("NOOP", c.Noop().Wait())
	default:
		w.st.count("idle")
		idle, err := c.Idle()
		if err != nil {
			return fmt.Errorf("%s IDLE: %w", w.name, err)
		}
		time.Sleep(time.Duration(20+r.IntN(150)) * time.Millisecond)
		if err := idle.Close(); err != nil {
			return fmt.Errorf("%s IDLE close: %w", w.name, err)
		}
		return w.result("IDLE", idle.Wait())
	}
	return nil
}

func uidSetNums(s imap.UIDSet) []uint32 {
	var out []uint32
	for _, r := range s {
		for u := r.Start; u <= r.Stop && r.Stop != 0; u++ {
			out = append(out, uint32(u))
		}
	}
	return out
}

// stressDuration is how long the mix runs: E2E_STRESS (a Go duration)
// or 6 s, which fits CI under -race on two cores.
func stressDuration(t *testing.T) time.Duration {
	if v := os.Getenv("E2E_STRESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("E2E_STRESS: %v", err)
		}
		return d
	}
	if testing.Short() {
		return 2 * time.Second
	}
	return 6 * time.Second
}

// TestConcurrentMix: 16 raw model-checking clients (IMAP4rev1, rev2,
// CONDSTORE, QRESYNC) and 8 go-imap clients
// share one account's INBOX for a fixed time, each running a random mix
// of APPEND, FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE, NOOP and IDLE
// (by sequence number and by UID). Then every session, after NOOP, must
// hold exactly the store's view; UIDs handed out are unique and
// ascending; no session ever saw a MODSEQ go backwards or beyond the
// store's; no command got BAD or an unexpected NO; the server logged no
// internal error.
func TestConcurrentMix(t *testing.T) { testConcurrentMix(t) }

// TestConcurrentMixFlagIndex runs the same mix with every mailbox in the
// in-memory flag index (storage.flag_index_min = 1), so FETCH FLAGS,
// RFC822.SIZE and flag searches are answered from it while the writers
// change it; the final comparison with the store covers the index too.
func TestConcurrentMixFlagIndex(t *testing.T) {
	testConcurrentMix(t, func(c *config.Config) { c.Storage.FlagIndexMin = 1 })
}

func testConcurrentMix(t *testing.T, opts ...func(*config.Config)) {
	t.Parallel()
	const nRaw, nGo = 16, 8
	s := startServer(t, opts...)
	user := "load@example.org"
	acct := s.addUser(user, "pw")
	st := &stress{s: s, user: user, inbox: newLedger("INBOX"), archive: newLedger("Archive")}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("E2E_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (E2E_SEED=%d reproduces the random choices, not the interleaving)", seed, seed)

	// Start from 30 messages.
	pre := login(t, s, "pre", user, "pw")
	for i := range 30 {
		floor := st.inbox.floor()
		u, _, err := pre.appendMsg("INBOX", randFlags(rand.New(rand.NewPCG(seed, uint64(i)))), testMessage(fmt.Sprintf("pre-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		st.inbox.assign(floor, "pre", u)
	}

	raws := make([]*rawWorker, nRaw)
	for i := range raws {
		c := login(t, s, fmt.Sprintf("r%02d", i), user, "pw")
		switch i % 4 {
		case 0:
			if i%8 == 0 {
				if err := c.enable("QRESYNC"); err != nil {
					t.Fatal(err)
				}
			}
		case 1:
			if err := c.enable("CONDSTORE"); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := c.enable("IMAP4rev2"); err != nil {
				t.Fatal(err)
			}
		case 3:
			if err := c.enable("IMAP4rev2", "CONDSTORE"); err != nil {
				t.Fatal(err)
			}
		}
		c.sel(t, "INBOX", false)
		raws[i] = &rawWorker{st: st, c: c, r: rand.New(rand.NewPCG(seed, uint64(100+i))), name: c.name}
	}
	gos := make([]*goWorker, nGo)
	for i := range gos {
		w := &goWorker{st: st, r: rand.New(rand.NewPCG(seed, uint64(200+i))), name: fmt.Sprintf("g%02d", i)}
		c, err := imapclient.DialInsecure(s.addr, &imapclient.Options{UnilateralDataHandler: w.handler()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Login(user, "pw").Wait(); err != nil {
			t.Fatal(err)
		}
		// Half select with CONDSTORE (RFC 7162 §3.1.8).
		sel, err := c.Select("INBOX", &imap.SelectOptions{CondStore: i%2 == 1}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		w.maxUID = imap.UID(sel.UIDNext)
		w.c = c
		gos[i] = w
	}

	dur := stressDuration(t)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for _, w := range raws {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := w.step(); err != nil {
					st.fail("%s: %v", w.name, err)
					return
				}
			}
		})
	}
	for _, w := range gos {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := w.step(); err != nil {
					st.fail("%s: %v", w.name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var counts []string
	st.opCounts.Range(func(k, v any) bool {
		counts = append(counts, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(counts)
	t.Logf("%d clients, %d operations in %v (%.0f/s): %s", nRaw+nGo, st.ops.Load(), elapsed.Round(time.Millisecond),
		float64(st.ops.Load())/elapsed.Seconds(), strings.Join(counts, ", "))

	// Everything acknowledged is committed and published: a NOOP now
	// brings every session to the store's state.
	mb, msgs := s.storeMessages(acct.ID, "INBOX")
	storeUIDs := make([]uint32, len(msgs))
	storeFlags := map[uint32]string{}
	storeModSeq := map[uint32]uint64{}
	for i, m := range msgs {
		storeUIDs[i] = uint32(m.UID)
		storeFlags[uint32(m.UID)] = normFlags(m.Flags.Names())
		storeModSeq[uint32(m.UID)] = uint64(m.ModSeq)
		if uint64(m.ModSeq) > uint64(mb.HighestModSeq) {
			t.Errorf("UID %d MODSEQ %d above HIGHESTMODSEQ %d", m.UID, m.ModSeq, mb.HighestModSeq)
		}
		if i > 0 && storeUIDs[i] <= storeUIDs[i-1] {
			t.Errorf("store UIDs not ascending at %d", i)
		}
	}
	t.Logf("INBOX ends with %d messages, UIDNEXT %d, HIGHESTMODSEQ %d", len(msgs), mb.UIDNext, mb.HighestModSeq)
	for _, u := range storeUIDs {
		if _, ok := st.inbox.owner[u]; !ok {
			t.Errorf("INBOX holds UID %d that no acknowledged command created", u)
		}
	}
	_, archived := s.storeMessages(acct.ID, "Archive")
	if len(archived) != len(st.archive.owner) {
		t.Errorf("Archive holds %d messages, %d were acknowledged by COPY/MOVE", len(archived), len(st.archive.owner))
	}

	for _, w := range raws {
		c := w.c
		if c.qresync {
			t.Logf("%s (QRESYNC) applied %d VANISHED responses", c.name, c.vanished)
			if c.vanished == 0 {
				t.Errorf("%s enabled QRESYNC but never got VANISHED", c.name)
			}
		}
		if c.bye != "" {
			t.Errorf("%s got %s", c.name, c.bye)
			continue
		}
		if _, err := c.mustOK("NOOP"); err != nil {
			t.Errorf("final NOOP: %v", err)
			continue
		}
		if len(c.uids) != len(storeUIDs) {
			t.Errorf("%s: after NOOP the client counts %d messages, the store has %d", c.name, len(c.uids), len(storeUIDs))
			continue
		}
		stale := 0
		for i, u := range c.uids {
			if u != 0 && u != storeUIDs[i] {
				t.Errorf("%s: after NOOP seq %d is UID %d for the client, %d in the store", c.name, i+1, u, storeUIDs[i])
				break
			}
			if f, ok := c.flags[u]; ok && u != 0 && f != storeFlags[u] {
				if stale < 3 {
					t.Errorf("%s: after NOOP UID %d has flags %q for the client, %q in the store (a flag update was lost or stale)", c.name, u, f, storeFlags[u])
				}
				stale++
			}
		}
		for u, ms := range c.modseq {
			if sm, ok := storeModSeq[u]; ok && ms > sm {
				t.Errorf("%s: saw MODSEQ %d for UID %d, the store has %d", c.name, ms, u, sm)
			}
		}
		if _, err := c.mustOK("FETCH 1:* (UID FLAGS)"); err != nil && len(storeUIDs) > 0 {
			t.Errorf("%v", err)
			continue
		}
		if v, err := c.view(); err != nil || !slices.Equal(v, storeUIDs) {
			t.Errorf("%s: view %v (%v), store %v", c.name, v, err, storeUIDs)
		}
	}
	for _, w := range gos {
		if err := w.c.Noop().Wait(); err != nil {
			t.Errorf("%s final NOOP: %v", w.name, err)
			continue
		}
		n := w.c.Mailbox().NumMessages
		if int(n) != len(storeUIDs) {
			t.Errorf("%s: after NOOP the client counts %d messages, the store has %d", w.name, n, len(storeUIDs))
			continue
		}
		if n == 0 {
			continue
		}
		msgs, err := w.c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
		if err != nil {
			t.Errorf("%s FETCH 1:*: %v", w.name, err)
			continue
		}
		got := make([]uint32, len(msgs))
		for i, m := range msgs {
			if int(m.SeqNum) != i+1 {
				t.Errorf("%s: FETCH 1:* answered seq %d at position %d", w.name, m.SeqNum, i+1)
			}
			got[i] = uint32(m.UID)
		}
		if !slices.Equal(got, storeUIDs) {
			t.Errorf("%s: seq->UID %v, store %v", w.name, got, storeUIDs)
		}
	}
	// The in-memory flag index (if this run used it) equals the database.
	if v, ok := s.app.Data().Store.(interface {
		VerifyFlagIndex(context.Context) (int, error)
	}); ok {
		n, err := v.VerifyFlagIndex(context.Background())
		if err != nil {
			t.Error(err)
		}
		t.Logf("flag index: %d mailboxes checked against the database", n)
	}
	// A fresh session sees the same.
	fresh := login(t, s, "fresh", user, "pw")
	fresh.sel(t, "INBOX", false)
	if v, err := fresh.view(); err != nil || !slices.Equal(v, storeUIDs) {
		t.Errorf("fresh session: view %v (%v), store %v", v, err, storeUIDs)
	}
	for _, e := range append(st.inbox.errs, st.archive.errs...) {
		t.Error(e)
	}
	st.mu.Lock()
	for _, e := range st.errs {
		t.Errorf("protocol error: %s", e)
	}
	st.mu.Unlock()
	if logs := s.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("server logged errors:\n%s", grepLines(logs, "level=ERROR", 20))
	}
}

// grepLines returns up to n lines of s that contain sub.
func grepLines(s, sub string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
