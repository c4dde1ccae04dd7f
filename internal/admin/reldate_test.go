package admin

import (
	"strings"
	"testing"
	"time"

	"barid/internal/imap/server"
)

func TestExpandDates(t *testing.T) {
	now := time.Date(2026, 3, 31, 23, 30, 0, 0, time.FixedZone("X", 2*3600)) // 21:30 UTC
	for _, tc := range []struct{ in, want, err string }{
		{"BEFORE 30-days-ago", "BEFORE 1-Mar-2026", ""},
		{"before 1-day-ago", "before 30-Mar-2026", ""},
		{"SINCE 2-weeks-ago", "SINCE 17-Mar-2026", ""},
		{"SENTBEFORE 1-month-ago", "SENTBEFORE 3-Mar-2026", ""}, // 31 Feb normalizes to 3 Mar, as time.AddDate does
		{"ON 1-year-ago", "ON 31-Mar-2025", ""},
		{"SENTSINCE 10-Years-Ago", "SENTSINCE 31-Mar-2016", ""},
		{"ON today", "ON 31-Mar-2026", ""},
		{"ON yesterday", "ON 30-Mar-2026", ""},
		{"SENTON 2026-01-05", "SENTON 5-Jan-2026", ""},
		{"BEFORE 5-Jan-2026", "BEFORE 5-Jan-2026", ""},
		{`SUBJECT 30-days-ago`, `SUBJECT 30-days-ago`, ""},
		{`SUBJECT "BEFORE 30-days-ago"`, `SUBJECT "BEFORE 30-days-ago"`, ""},
		{`SUBJECT "a \" BEFORE" SUBJECT 3-days-ago`, `SUBJECT "a \" BEFORE" SUBJECT 3-days-ago`, ""},
		{"OR (SEEN BEFORE 7-days-ago) (DELETED)", "OR (SEEN BEFORE 24-Mar-2026) (DELETED)", ""},
		{"NOT BEFORE today", "NOT BEFORE 31-Mar-2026", ""},
		{"BEFORE 30-fortnights-ago", "", "invalid relative date"},
		{"BEFORE 2026-13-01", "", "invalid date"},
	} {
		got, err := ExpandDates(tc.in, now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if _, err := server.ParseSearch(got); err != nil {
			t.Errorf("%q: the IMAP parser refuses %q: %v", tc.in, got, err)
		}
	}
}

// ExpandDates never fails on input it does not rewrite, and its output
// is a fixed point: expanding twice changes nothing.
func FuzzExpandDates(f *testing.F) {
	for _, s := range []string{"BEFORE 30-days-ago", `SUBJECT "x\"" ON today`, "OR (SINCE 2026-01-01) ON yesterday", "(((", `"`, "BEFORE"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, q string) {
		out, err := ExpandDates(q, now)
		if err != nil {
			return
		}
		again, err := ExpandDates(out, now)
		if err != nil || again != out {
			t.Fatalf("%q -> %q -> %q, %v", q, out, again, err)
		}
		server.ParseSearch(out)
	})
}

// ParseSearch takes the SEARCH program as SEARCH does and refuses what
// the tools cannot honour.
func TestParseSearch(t *testing.T) {
	for _, q := range []string{"ALL", "UNSEEN SUBJECT x", `CHARSET UTF-8 BODY "é"`, "OR SEEN (FLAGGED LARGER 10)", "1:* NOT DELETED", "UID 1,3:5"} {
		if _, err := server.ParseSearch(q); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
	for _, q := range []string{"", "FOO", "SUBJECT", "ALL )", "RETURN (COUNT) ALL", "BEFORE 32-Jan-2026", "ALL\r\nA2 LOGOUT"} {
		if _, err := server.ParseSearch(q); err == nil {
			t.Errorf("%q accepted", q)
		}
	}
}
