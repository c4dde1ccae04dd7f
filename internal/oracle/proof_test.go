package oracle

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// These tests need no Dovecot. They show that each rule of
// normalize_test.go and allowances_test.go removes the one difference
// it names and leaves any other difference in the same answer visible,
// so that the oracle comparison can still fail.

// equalAfter normalises two answers as the oracle does and compares them.
func equalAfter(d, b []string) bool {
	return eq(newNormalizer(dovecotSide).normalize(d), newNormalizer(baridSide).normalize(b))
}

func TestStatusTextIgnoredButNotCodeOrCondition(t *testing.T) {
	d := []string{"t1 OK [READ-WRITE] Select completed (0.001 + 0.000 secs)."}
	if !equalAfter(d, []string{"t1 OK [READ-WRITE] Select completed."}) {
		t.Error("the text after the response code is not ignored")
	}
	for _, b := range []string{
		"t1 OK [READ-ONLY] Select completed (0.001 + 0.000 secs).",
		"t1 NO [READ-WRITE] Select completed (0.001 + 0.000 secs).",
		"t1 OK Select completed (0.001 + 0.000 secs).",
		"t2 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).",
	} {
		if equalAfter(d, []string{b}) {
			t.Errorf("%q and %q compare equal", d[0], b)
		}
	}
	// Data lines keep their text.
	if equalAfter([]string{"* 1 FETCH (FLAGS (\\Seen))", "t1 OK"}, []string{"* 1 FETCH (FLAGS ())", "t1 OK"}) {
		t.Error("a FETCH difference is hidden")
	}
}

func TestUIDValidityValueIgnoredButNotItsUse(t *testing.T) {
	d := []string{"* OK [UIDVALIDITY 1796598978] UIDs valid", "* STATUS Junk (MESSAGES 1 UIDVALIDITY 1796598981)", "t1 OK [COPYUID 1796598981 3 2] Moved"}
	b := []string{"* OK [UIDVALIDITY 42] UIDs valid", "* STATUS Junk (MESSAGES 1 UIDVALIDITY 43)", "t1 OK [COPYUID 43 3 2] Moved"}
	if !equalAfter(d, b) {
		t.Error("UIDVALIDITY values are not ignored")
	}
	for name, b := range map[string][]string{
		// COPYUID names the UIDVALIDITY of the source, not of the target.
		"inconsistent value": {"* OK [UIDVALIDITY 42] UIDs valid", "* STATUS Junk (MESSAGES 1 UIDVALIDITY 43)", "t1 OK [COPYUID 42 3 2] Moved"},
		"other UIDs":         {"* OK [UIDVALIDITY 42] UIDs valid", "* STATUS Junk (MESSAGES 1 UIDVALIDITY 43)", "t1 OK [COPYUID 43 3 1] Moved"},
		"other count":        {"* OK [UIDVALIDITY 42] UIDs valid", "* STATUS Junk (MESSAGES 2 UIDVALIDITY 43)", "t1 OK [COPYUID 43 3 2] Moved"},
	} {
		if equalAfter(d, b) {
			t.Errorf("%s: hidden by the UIDVALIDITY rule", name)
		}
	}
}

func TestMailboxIDDroppedOnlyOnBaridsSelectAndCreate(t *testing.T) {
	d := []string{"* FLAGS (\\Seen)", "* OK [UIDVALIDITY 7] UIDs valid", "t1 OK [READ-WRITE] Select completed."}
	b := []string{"* FLAGS (\\Seen)", "* OK [UIDVALIDITY 9] UIDs valid", "* OK [MAILBOXID (F0123)] Ok", "t1 OK [READ-WRITE] Select completed."}
	if !equalAfter(d, b) {
		t.Error("barid's MAILBOXID line is not dropped")
	}
	if !equalAfter([]string{"t2 OK Create completed."}, []string{"t2 OK [MAILBOXID (F0123)] Created"}) {
		t.Error("barid's MAILBOXID code on CREATE is not dropped")
	}
	for name, pair := range map[string][2][]string{
		"Dovecot's side":     {{"* OK [MAILBOXID (F1)] Ok", "t1 OK"}, {"t1 OK"}},
		"another code":       {{"t2 OK Create completed."}, {"t2 OK [TRYCREATE] Created"}},
		"a NO with the code": {{"t2 OK Create completed."}, {"t2 NO [MAILBOXID (F1)] Created"}},
		"other lines":        {d, {"* FLAGS ()", "* OK [UIDVALIDITY 9] UIDs valid", "* OK [MAILBOXID (F0123)] Ok", "t1 OK [READ-WRITE] Select completed."}},
	} {
		if equalAfter(pair[0], pair[1]) {
			t.Errorf("%s: hidden by the MAILBOXID rule", name)
		}
	}
}

func TestDovecotBareUIDFetchDroppedOnlyBeforeBinaryFailure(t *testing.T) {
	d := []string{"* 14 FETCH (UID 14)", "t1 NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding"}
	if !equalAfter(d, []string{"t1 NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding"}) {
		t.Error("Dovecot's bare FETCH before NO [UNKNOWN-CTE] is not dropped")
	}
	cases := []struct {
		name string
		d, b []string
	}{
		{"barid's own bare FETCH", []string{"t1 NO [PARSE] x"}, []string{"* 14 FETCH (UID 14)", "t1 NO [PARSE] x"}},
		{"a FETCH with data", []string{"* 14 FETCH (UID 14 BINARY.SIZE[1] 3)", "t1 NO [PARSE] x"}, []string{"t1 NO [PARSE] x"}},
		{"before another answer", []string{"* 14 FETCH (UID 14)", "t1 OK done"}, []string{"t1 OK done"}},
		{"another code", []string{"* 14 FETCH (UID 14)", "t1 NO [UNKNOWN-CTE] x"}, []string{"t1 NO [PARSE] x"}},
	}
	for _, c := range cases {
		if equalAfter(c.d, c.b) {
			t.Errorf("%s: hidden", c.name)
		}
	}
}

func TestOnlyListOrderIgnored(t *testing.T) {
	if !equalAfter([]string{`* LIST () "/" a`, `* LIST () "/" b`, "t1 OK"}, []string{`* LIST () "/" b`, `* LIST () "/" a`, "t1 OK"}) {
		t.Error("the order of LIST responses is not ignored")
	}
	cases := []struct {
		name string
		d, b []string
	}{
		{"LIST attribute", []string{`* LIST () "/" a`, `* LIST () "/" b`, "t1 OK"}, []string{`* LIST (\Noselect) "/" b`, `* LIST () "/" a`, "t1 OK"}},
		{"EXPUNGE order", []string{"* 3 EXPUNGE", "* 1 EXPUNGE", "t1 OK"}, []string{"* 1 EXPUNGE", "* 3 EXPUNGE", "t1 OK"}},
		{"FLAGS after the FETCH that uses it", []string{"* FLAGS (\\Seen $New)", "* 1 FETCH (FLAGS ($New))", "t1 OK"}, []string{"* 1 FETCH (FLAGS ($New))", "* FLAGS (\\Seen $New)", "t1 OK"}},
		{"FETCH order", []string{"* 1 FETCH (FLAGS ())", "* 2 FETCH (FLAGS ())", "t1 OK"}, []string{"* 2 FETCH (FLAGS ())", "* 1 FETCH (FLAGS ())", "t1 OK"}},
		{"a LIST more", []string{`* LIST () "/" a`, "t1 OK"}, []string{`* LIST () "/" a`, `* LIST () "/" a`, "t1 OK"}},
	}
	for _, c := range cases {
		if equalAfter(c.d, c.b) {
			t.Errorf("%s: hidden", c.name)
		}
	}
}

// allowanceProof is, for one allowance, a pair of answers that differ
// only in the named way and a pair with one more, unrelated difference.
type allowanceProof struct {
	a            *allowance
	dovecot      []string
	barid        []string
	otherDovecot []string // nil: dovecot
	otherBarid   []string // nil: barid
}

var dupSort = allowDuplicateHeaderSort("28")

var allowanceProofs = []allowanceProof{
	{a: allowInternalDateZone,
		dovecot:    []string{`* 1 FETCH (UID 1 INTERNALDATE "01-Feb-2026 09:10:00 +0000" RFC822.SIZE 588)`, "t1 OK"},
		barid:      []string{`* 1 FETCH (UID 1 INTERNALDATE "01-Feb-2026 10:10:00 +0100" RFC822.SIZE 588)`, "t1 OK"},
		otherBarid: []string{`* 1 FETCH (UID 1 INTERNALDATE "01-Feb-2026 10:10:00 +0000" RFC822.SIZE 588)`, "t1 OK"}},
	{a: allowInternalDateZone,
		dovecot:    []string{`* 1 FETCH (UID 1 INTERNALDATE "01-Feb-2026 09:10:00 +0000" RFC822.SIZE 588)`, "t1 OK"},
		barid:      []string{`* 1 FETCH (UID 1 INTERNALDATE "01-Feb-2026 10:10:00 +0100" RFC822.SIZE 588)`, "t1 OK"},
		otherBarid: []string{`* 1 FETCH (UID 1 INTERNALDATE "01-Feb-2026 10:10:00 +0100" RFC822.SIZE 589)`, "t1 OK"}},
	{a: allowNonexistentCode,
		dovecot: []string{"t1 NO"}, barid: []string{"t1 NO [NONEXISTENT]"},
		otherBarid: []string{"t1 BAD [NONEXISTENT]"}},
	{a: allowNonexistentCode,
		dovecot: []string{"t1 NO"}, barid: []string{"t1 NO [NONEXISTENT]"},
		otherBarid: []string{"* 0 EXISTS", "t1 NO [NONEXISTENT]"}},
	{a: allowCannotCode,
		dovecot: []string{"t1 NO"}, barid: []string{"t1 NO [CANNOT]"},
		otherBarid: []string{"t1 OK [CANNOT]"}},
	{a: allowRenameAutoCreated,
		dovecot: []string{"t1 NO [NONEXISTENT]"}, barid: []string{"t1 NO [ALREADYEXISTS]"},
		otherBarid: []string{"t1 NO [CANNOT]"}},
	{a: allowStatusDeleted,
		dovecot: []string{"* STATUS INBOX (MESSAGES 2 UNSEEN 1 SIZE 40)", "t1 OK"}, barid: []string{"* STATUS INBOX (MESSAGES 2 UNSEEN 1 DELETED 1 SIZE 40)", "t1 OK"},
		otherBarid: []string{"* STATUS INBOX (MESSAGES 2 UNSEEN 1 DELETED 1 SIZE 41)", "t1 OK"}},
	{a: allowBadcharsetList,
		dovecot: []string{"t1 NO [BADCHARSET]"}, barid: []string{"t1 NO [BADCHARSET (UTF-8 US-ASCII)]"},
		otherBarid: []string{"t1 BAD [BADCHARSET (UTF-8 US-ASCII)]"}},
	{a: allowSuperiorsList,
		dovecot:    []string{`* LIST (\Noselect \HasChildren) "/" a`, `* LIST (\Noselect \HasChildren) "/" a/b`, `* LIST (\HasNoChildren) "/" a/b/c`, "t1 OK"},
		barid:      []string{`* LIST (\HasChildren) "/" a`, `* LIST (\HasChildren) "/" a/b`, `* LIST (\HasNoChildren) "/" a/b/c`, "t1 OK"},
		otherBarid: []string{`* LIST (\HasChildren) "/" a`, `* LIST (\HasChildren) "/" a/b`, `* LIST (\Noselect \HasNoChildren) "/" a/b/c`, "t1 OK"}},
	{a: allowSuperiorsList,
		dovecot:    []string{`* LIST (\Noselect \HasChildren) "/" a`, `* LIST (\HasNoChildren) "/" a/b/c`, "t1 OK"},
		barid:      []string{`* LIST (\HasChildren) "/" a`, `* LIST (\HasNoChildren) "/" a/b/c`, "t1 OK"},
		otherBarid: []string{`* LIST (\HasNoChildren) "/" a`, `* LIST (\HasNoChildren) "/" a/b/c`, "t1 OK"}},
	{a: allowSuperiorsCreate,
		dovecot: []string{"t1 OK"}, barid: []string{"t1 NO [ALREADYEXISTS]"},
		otherBarid: []string{"t1 NO [CANNOT]"}},
	{a: allowSuperiorsSubscribe,
		dovecot: []string{"t1 NO"}, barid: []string{"t1 OK"},
		otherDovecot: []string{"t1 BAD"}},
	{a: dupSort,
		dovecot: []string{"* SORT 3 28 1 2", "t1 OK"}, barid: []string{"* SORT 3 1 28 2", "t1 OK"},
		otherBarid: []string{"* SORT 1 3 28 2", "t1 OK"}},
	{a: dupSort,
		dovecot: []string{"* SORT 3 28 1 2", "t1 OK"}, barid: []string{"* SORT 3 1 28 2", "t1 OK"},
		otherBarid: []string{"* SORT 3 1 28 2 128", "t1 OK"}},
}

func TestAllowancesLeaveOtherDifferencesVisible(t *testing.T) {
	for i, p := range allowanceProofs {
		norm := func(d, b []string) ([]string, []string) {
			return newNormalizer(dovecotSide).normalize(d), newNormalizer(baridSide).normalize(b)
		}
		d, b := norm(p.dovecot, p.barid)
		if o := compare(p.a, nil, d, b); o.verdict != allowedDiff || len(o.problems) > 0 {
			t.Errorf("%d %s: the named difference is not removed: %v %v", i, p.a.id, o.verdict, o.problems)
		}
		od, ob := p.otherDovecot, p.otherBarid
		if od == nil {
			od = p.dovecot
		}
		if ob == nil {
			ob = p.barid
		}
		d, b = norm(od, ob)
		if o := compare(p.a, nil, d, b); o.verdict != differs || len(o.problems) == 0 {
			t.Errorf("%d %s: an unrelated difference is hidden (%q vs %q)", i, p.a.id, od, ob)
		}
	}
}

// Every allowance a scenario uses has a proof above.
func TestEveryAllowanceHasAProof(t *testing.T) {
	proved := map[string]bool{}
	for _, p := range allowanceProofs {
		proved[p.a.id+"\x00"+p.a.why] = true
	}
	for _, sc := range append(scenarios(t), corpusScenario(t)) {
		for cmd, a := range sc.allow {
			if !proved[a.id+"\x00"+a.why] {
				t.Errorf("%s: %q: allowance %s (%s) has no case in allowanceProofs", sc.name, cmd, a.id, a.why)
			}
		}
	}
}

func TestCompareFailsStaleRules(t *testing.T) {
	ok := []string{"t1 OK"}
	// An allowance whose difference has gone.
	if o := compare(allowCannotCode, nil, []string{"t1 NO"}, []string{"t1 NO"}); len(o.problems) == 0 {
		t.Error("a no longer needed allowance passes")
	}
	// A rewrite that matches nothing, next to one that is needed.
	two := &allowance{id: "x", rewrites: []rewrite{
		allowCannotCode.rewrites[0],
		{on: baridSide, re: regexp.MustCompile(`^never$`), to: ""},
	}}
	if o := compare(two, nil, []string{"t1 NO"}, []string{"t1 NO [CANNOT]"}); len(o.problems) != 1 {
		t.Errorf("a rewrite that matches nothing passes: %v", o.problems)
	}
	bug := &openBug{id: "b", dovecot: []string{"* SEARCH 1 2", "TAG OK"}, barid: []string{"* SEARCH 1", "TAG OK"}}
	if o := compare(nil, bug, []string{"* SEARCH 1 2", "t5 OK"}, []string{"* SEARCH 1", "t5 OK"}); o.verdict != recordedBug || len(o.problems) > 0 {
		t.Errorf("a bug as recorded: %v %v", o.verdict, o.problems)
	}
	if o := compare(nil, bug, []string{"* SEARCH 1 2", "t5 OK"}, []string{"* SEARCH 1 2", "t5 OK"}); len(o.problems) == 0 {
		t.Error("a fixed open bug passes")
	}
	if o := compare(nil, bug, []string{"* SEARCH 1 2", "t5 OK"}, []string{"* SEARCH 2", "t5 OK"}); o.verdict != differs || len(o.problems) == 0 {
		t.Error("an open bug whose answer changed passes")
	}
	if o := compare(nil, nil, ok, []string{"t1 NO"}); o.verdict != differs || len(o.problems) == 0 {
		t.Error("a plain difference passes")
	}
}

// reHeading finds the rule ids DIFFERENCES.md gives as headings.
var reHeading = regexp.MustCompile("(?m)^### `([a-z0-9-]+)`")

// globalRules are the normalisations of normalize_test.go, by their
// headings in DIFFERENCES.md.
var globalRules = []string{"status-text", "uidvalidity", "binary-bare-fetch", "list-order", "objectid-mailboxid"}

// DIFFERENCES.md documents every rule and every open bug, and nothing
// else.
func TestDifferencesDocumented(t *testing.T) {
	b, err := os.ReadFile("DIFFERENCES.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range reHeading.FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = true
	}
	used := map[string]bool{}
	for _, id := range globalRules {
		used[id] = true
	}
	for _, sc := range append(scenarios(t), corpusScenario(t)) {
		for _, a := range sc.allow {
			used[a.id] = true
		}
		for _, bug := range sc.bugs {
			used[bug.id] = true
			// The record is in the document too, as the exact diff.
			for _, l := range slices.Concat(bug.dovecot, bug.barid) {
				if !strings.Contains(string(b), l) {
					t.Errorf("open bug %s: DIFFERENCES.md lacks the recorded line %q", bug.id, l)
				}
			}
		}
	}
	for id := range used {
		if !documented[id] {
			t.Errorf("%s is not a heading (### `%s`) in DIFFERENCES.md", id, id)
		}
	}
	for id := range documented {
		if !used[id] {
			t.Errorf("DIFFERENCES.md documents %s, which no test uses", id)
		}
	}
}
