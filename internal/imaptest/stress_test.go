package imaptest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/bench"
)

// writeMbox writes n messages from the benchmark generator (a realistic
// mix: text, multipart/alternative, attachments, forwarded messages,
// encoded headers) as an mbox imaptest can read: each message after a
// "From " line whose date mbox_from_parse accepts, LF line endings
// (imaptest turns them back into CRLF), body lines starting with "From "
// quoted with ">".
func writeMbox(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	g := bench.NewGenerator(1)
	for i := range n {
		m := g.Message(i)
		fmt.Fprintf(w, "From sender@example.org %s\n", m.Date.UTC().Format("Mon Jan _2 15:04:05 2006"))
		body := bytes.ReplaceAll(m.Body, []byte("\r\n"), []byte("\n"))
		for l := range bytes.Lines(body) {
			if bytes.HasPrefix(l, []byte("From ")) {
				w.WriteByte('>')
			}
			w.Write(l)
		}
		if !bytes.HasSuffix(body, []byte("\n")) {
			w.WriteByte('\n')
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// errorLineRE matches the lines imaptest logs through i_error (every
// protocol error, unexpected reply, lost connection or broken
// checkpoint) and i_fatal.
var errorLineRE = regexp.MustCompile(`(?m)^(Error|Fatal|Panic): .*$`)

// imaptestPanicRE is imaptest 2.3's own assertion failure in its
// command planner (client-state.c), a bug of imaptest, not of barid.
var imaptestPanicRE = regexp.MustCompile(`(?m)^Panic: file client-state\.c: line \d+ \(client_update_plan\): assertion failed: .*$`)

// TestStress runs imaptest's stress mode: 10 clients on one INBOX doing
// its default random mix (select, fetch, search, store, expunge, append,
// copy, logout), each keeping to its own flags (own_flags) so that a
// checkpoint every second (checkpoint=1) can compare every client's view
// of the mailbox with the others'. imaptest must report no error.
// BARID_IMAPTEST_STRESS_SECS sets the duration (default 30).
// ownedKeywordRE matches imaptest's own_flags complaint about a keyword
// another client owns.
// Its FETCH must carry a MODSEQ of at most ownedKeywordMaxModSeq: the
// imaptest race behind it (known-gaps.txt) exists only while the
// clients' views do not yet know every keyword, in the first modseqs of
// a run; the same complaint later in a run is not tolerated.
var ownedKeywordRE = regexp.MustCompile(`^Error: \S+: Owned keyword changed: .* MODSEQ \((\d+)\)\)$`)

const ownedKeywordMaxModSeq = 40

func TestStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress run skipped in -short mode")
	}
	tl := needTool(t)
	gaps := readKnownGaps(t)
	secs := 30
	if v := os.Getenv("BARID_IMAPTEST_STRESS_SECS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("BARID_IMAPTEST_STRESS_SECS=%q: want a whole number of seconds", v)
		}
		secs = n
	}
	dir := t.TempDir()
	mbox := filepath.Join(dir, "stress.mbox")
	if err := writeMbox(mbox, 500); err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	host, port := s.hostPort()
	// Two with BARID_TEST_CLUSTER=2 (scripts/test): the clients' connections
	// then alternate between the nodes.
	t.Logf("barid nodes behind %s: %d", s.addr, len(s.Nodes))

	// secs=N,W: stop starting commands after N seconds, then wait at
	// most W for the ones in flight. imaptest 2.3 itself could abort
	// on an assertion of its own while a checkpoint met a client
	// reconnecting after LOGOUT (third_party/imaptest/build.sh now
	// patches it out); should it abort anyway, the run is logged and
	// run again on a fresh account, up to three times.
	var (
		out  string
		err  error
		errs []string
	)
	for attempt := 1; ; attempt++ {
		user := fmt.Sprintf("stress%d", attempt)
		s.addUser(user)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+3*time.Minute)
		out, err = runImaptest(ctx, tl, dir, "host="+host, "port="+port, "user="+user, "pass="+password,
			"mbox="+mbox, "clients=10", fmt.Sprintf("secs=%d,30", secs), "checkpoint=1", "own_flags")
		cancel()
		crashed := imaptestPanicRE.MatchString(out)
		var runErrs []string
		for _, e := range errorLineRE.FindAllString(out, -1) {
			if crashed && (imaptestPanicRE.MatchString(e) || strings.HasPrefix(e, "Error: Raw backtrace")) {
				continue
			}
			runErrs = append(runErrs, e)
		}
		if crashed {
			// A run that imaptest ended on its own assertion (a bug of
			// imaptest 2.3's plan/checkpoint code, not of the server) left
			// its clients' state half-updated, so the checks it made before
			// the crash are not trusted: its error lines are shown, never
			// hidden, and the run is repeated on a fresh account. Only a
			// run that completes decides.
			if len(runErrs) > 0 {
				t.Logf("run %d ended in imaptest's own assertion; its %d error lines, not counted:\n%s", attempt, len(runErrs), strings.Join(runErrs, "\n"))
			}
		} else {
			errs = append(errs, runErrs...)
		}
		t.Logf("imaptest stress run %d, %d s, 10 clients: %d error lines so far; last lines of its report:\n%s",
			attempt, secs, len(errs), tail(out, 12))
		if !crashed {
			break
		}
		if attempt == 3 {
			err = fmt.Errorf("imaptest aborted on its own assertion in %d runs out of %d: %s", attempt, attempt, imaptestPanicRE.FindString(out))
			break
		}
		t.Logf("imaptest aborted on its own assertion (%s); running it again", imaptestPanicRE.FindString(out))
	}

	// An error class listed as "stress-owned-keyword" in known-gaps.txt
	// is intermittent (seen in some 30 s runs, at the start
	// of the run): its lines are shown, counted as that known gap, and
	// every other error still fails. Because it is intermittent, a run
	// without it does not make the entry stale.
	if gp, ok := gaps["stress-owned-keyword"]; ok {
		kept := errs[:0]
		var known []string
		for _, e := range errs {
			if ownedKeywordTolerated(e) {
				known = append(known, e)
			} else {
				kept = append(kept, e)
			}
		}
		errs = kept
		if len(known) > 0 {
			t.Logf("stress: %d error lines of the intermittent known gap %q (%s):\n%s", len(known), gp.name, gp.reason, strings.Join(known, "\n"))
		}
	}

	var problem string
	switch {
	case len(errs) > 0:
		problem = fmt.Sprintf("imaptest reported %d errors (exit: %v):\n%s", len(errs), err, strings.Join(errs, "\n"))
	case err != nil:
		problem = fmt.Sprintf("imaptest: %v", err)
	case !strings.Contains(out, "Logi"):
		// The periodic statistics header ("Logi List Stat Sele Fetc
		// ...") shows that commands ran at all.
		problem = "imaptest printed no statistics:\n" + out
	}
	gp, listed := gaps["stress"]
	switch {
	case problem == "" && listed:
		t.Errorf("stress passes now: remove it from testdata/known-gaps.txt (line %d: %s)", gp.line, gp.reason)
	case problem != "" && !listed:
		t.Errorf("stress: %s", problem)
	case problem != "":
		// Known gap: show every error, hide nothing, but do not fail.
		t.Logf("stress fails, a known gap (%s): %s", gp.reason, problem)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ownedKeywordTolerated reports an error line of the known imaptest
// race: "Owned keyword changed" on a FETCH with a MODSEQ of at most
// ownedKeywordMaxModSeq.
func ownedKeywordTolerated(e string) bool {
	m := ownedKeywordRE.FindStringSubmatch(e)
	if m == nil {
		return false
	}
	n, err := strconv.Atoi(m[1])
	return err == nil && n <= ownedKeywordMaxModSeq
}
