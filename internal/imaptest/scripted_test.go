package imaptest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// outcome is what became of one scripted group.
type outcome int

const (
	passed outcome = iota
	failed
	skipped // not run: a capability in its header is not announced
)

func (o outcome) String() string {
	return [...]string{"passed", "failed", "skipped"}[o]
}

// result is one group's outcome with the evidence for it.
type result struct {
	group   string
	outcome outcome
	detail  string // imaptest's output, or the missing capabilities
	took    time.Duration
}

// groups lists the scripted test groups in dir the way imaptest's
// test_parser_scan_dir does: every entry not starting with "." and not
// ending in ".mbox" (a group's own messages), minus folders (imaptest
// reads none: tests/broken holds groups upstream disabled).
func groups(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".mbox") || e.IsDir() {
			continue
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		t.Fatalf("no test groups in %s", dir)
	}
	return out
}

// requiredCapabilities reads a group's header (the lines before the
// first empty one, "#" lines being comments; test-parser.c
// test_parse_file) and returns its "capabilities:" words.
func requiredCapabilities(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var caps []string
	for l := range strings.Lines(string(b)) {
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		if strings.HasPrefix(l, "#") {
			continue
		}
		key, value, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(key), "capabilities") {
			caps = append(caps, strings.Fields(value)...)
		}
	}
	return caps, nil
}

var (
	summaryRE = regexp.MustCompile(`(?m)^(\d+) test groups: (\d+) failed, (\d+) skipped due to missing capabilities$`)
	countsRE  = regexp.MustCompile(`(?m)^(base protocol|extensions): (\d+)/(\d+) individual commands failed$`)
)

// judge reads one imaptest run of one group. A group passed only if
// imaptest exited 0, printed its summary with 0 failed and 0 skipped,
// logged no error (a lost connection, an unexpected BYE) and ran at
// least one command (a group it skipped silently, as for a
// missing capability or second user, runs none).
func judge(out string, runErr error) (outcome, string) {
	m := summaryRE.FindStringSubmatch(out)
	if m == nil {
		return failed, fmt.Sprintf("no summary from imaptest (%v)", runErr)
	}
	if m[2] != "0" || m[3] != "0" {
		return failed, fmt.Sprintf("imaptest: %s failed, %s skipped", m[2], m[3])
	}
	if runErr != nil {
		return failed, fmt.Sprintf("imaptest exited with %v", runErr)
	}
	if e := errorLineRE.FindString(out); e != "" {
		return failed, "imaptest logged " + e
	}
	total := 0
	for _, c := range countsRE.FindAllStringSubmatch(out, -1) {
		if c[2] != "0" {
			return failed, fmt.Sprintf("imaptest: %s: %s commands failed", c[1], c[2])
		}
		n, _ := strconv.Atoi(c[3])
		total += n
	}
	if total == 0 {
		return skipped, "imaptest ran no command of this group"
	}
	return passed, ""
}

// TestScripted runs every imaptest scripted group against barid and
// holds the result to testdata/known-gaps.txt (see doc.go).
func TestScripted(t *testing.T) {
	tl := needTool(t)
	gaps := readKnownGaps(t)
	all := groups(t, tl.tests)
	names := all
	if only := os.Getenv("BARID_IMAPTEST_GROUPS"); only != "" {
		names = strings.Split(only, ",")
	}
	for name := range gaps {
		if !strings.HasPrefix(name, "stress") && !slices.Contains(all, name) {
			t.Errorf("testdata/known-gaps.txt:%d: %s is not a group in %s", gaps[name].line, name, tl.tests)
		}
	}

	s := startServer(t)
	host, port := s.hostPort()
	s.addUser("capcheck")
	caps, err := s.capabilities("capcheck")
	if err != nil {
		t.Fatalf("CAPABILITY: %v", err)
	}

	parallel := 4
	if v, err := strconv.Atoi(os.Getenv("BARID_IMAPTEST_PARALLEL")); err == nil && v > 0 {
		parallel = v
	}
	results := make([]result, len(names))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, g := range names {
		path := filepath.Join(tl.tests, g)
		req, err := requiredCapabilities(path)
		if err != nil {
			t.Fatalf("group %s: %v", g, err)
		}
		var missing []string
		for _, c := range req {
			if !caps[strings.ToUpper(c)] {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			// imaptest would not run it and would still say "0 skipped".
			results[i] = result{group: g, outcome: skipped,
				detail: "barid does not announce " + strings.Join(missing, " ")}
			continue
		}
		// Fresh accounts: every group creates and deletes mailboxes
		// and expects the account empty. user2 serves groups with a
		// "user 2: $user2" header, which imaptest skips silently
		// without it.
		user, user2 := "it-"+g, "it2-"+g
		s.addUser(user)
		s.addUser(user2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			start := time.Now()
			out, err := runImaptest(ctx, tl, t.TempDir(), "host="+host, "port="+port,
				"user="+user, "user2="+user2, "pass="+password, "test="+path)
			o, why := judge(out, err)
			results[i] = result{group: g, outcome: o, detail: why + "\n" + out, took: time.Since(start)}
		}()
	}
	wg.Wait()

	var pass, fail, skip int
	for _, r := range results {
		switch r.outcome {
		case passed:
			pass++
		case failed:
			fail++
		case skipped:
			skip++
		}
		gp, listed := gaps[r.group]
		switch {
		case r.outcome == passed && listed:
			t.Errorf("group %s passes now: remove it from testdata/known-gaps.txt (line %d: %s)", r.group, gp.line, gp.reason)
		case r.outcome != passed && !listed:
			t.Errorf("group %s %s (not in testdata/known-gaps.txt): %s", r.group, r.outcome, r.detail)
		case r.outcome != passed:
			t.Logf("group %s %s, a known gap (%s): %s", r.group, r.outcome, gp.reason, firstLine(r.detail))
		default:
			t.Logf("group %s passed in %v", r.group, r.took.Round(time.Millisecond))
		}
	}
	t.Logf("imaptest scripted groups: %d passed, %d failed, %d skipped (of %d)", pass, fail, skip, len(results))
	if t.Failed() {
		if l := s.logs.String(); l != "" {
			t.Logf("server log:\n%s", l)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
