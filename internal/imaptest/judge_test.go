package imaptest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestJudge reads imaptest 2.3 outputs as it prints them (these are
// from runs against barid: a pass, a failure, a group skipped silently
// for its capability header, a connection error).
func TestJudge(t *testing.T) {
	exit2 := errors.New("exit status 2")
	for _, tc := range []struct {
		name string
		out  string
		err  error
		want outcome
	}{
		{"pass", "1 test groups: 0 failed, 0 skipped due to missing capabilities\nbase protocol: 0/17 individual commands failed\nextensions: 0/0 individual commands failed\n", nil, passed},
		{"fail", "*** Test listext command 32/34 (line 89)\n - failed: Unexpected untagged match:\n1 test groups: 1 failed, 0 skipped due to missing capabilities\nbase protocol: 0/0 individual commands failed\nextensions: 1/34 individual commands failed\n", exit2, failed},
		// imaptest 2.3 counts a group it did not run for a missing
		// capability as neither failed nor skipped: only the zero
		// command count tells.
		{"silent skip", "1 test groups: 0 failed, 0 skipped due to missing capabilities\nbase protocol: 0/0 individual commands failed\nextensions: 0/0 individual commands failed\n", nil, skipped},
		{"error line", "Error: it-x[1]: Client disconnected: BYE\n1 test groups: 0 failed, 0 skipped due to missing capabilities\nbase protocol: 0/3 individual commands failed\nextensions: 0/0 individual commands failed\n", nil, failed},
		{"no summary", "Fatal: connect() failed\n", exit2, failed},
		{"commands failed, exit 0", "1 test groups: 0 failed, 0 skipped due to missing capabilities\nbase protocol: 1/3 individual commands failed\nextensions: 0/0 individual commands failed\n", nil, failed},
	} {
		if got, why := judge(tc.out, tc.err); got != tc.want {
			t.Errorf("%s: judge = %v (%s), want %v", tc.name, got, why, tc.want)
		}
	}
}

// TestRequiredCapabilities reads headers the way test-parser.c does: up
// to the first empty line, "#" lines skipped, the key case-insensitive.
func TestRequiredCapabilities(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"capabilities: CATENATE MULTIAPPEND\nstate: created\n\nok append\n", []string{"CATENATE", "MULTIAPPEND"}},
		{"# comment\nCapabilities:  urlauth   urlauth=binary\n\n", []string{"urlauth", "urlauth=binary"}},
		{"messages: all\n\ncapabilities: X\n", nil}, // after the header: a command line, not a header
		{"state: auth\r\ncapabilities: ID\r\n\r\n", []string{"ID"}},
	} {
		p := filepath.Join(dir, "g")
		if err := os.WriteFile(p, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := requiredCapabilities(p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.text, got, tc.want)
		}
	}
}

// Only the startup window of imaptest's own_flags race is tolerated.
func TestOwnedKeywordTolerated(t *testing.T) {
	for line, want := range map[string]bool{
		`Error: testuser[18]: Owned keyword changed: $Label1: * 5 FETCH (UID 5 FLAGS ($Label1) MODSEQ (12))`:        true,
		`Error: testuser[6]: Owned keyword changed: $Label5: * 2 FETCH (UID 2 FLAGS (\Draft $Label5) MODSEQ (40))`:  true,
		`Error: testuser[6]: Owned keyword changed: $Label5: * 2 FETCH (UID 2 FLAGS (\Draft $Label5) MODSEQ (41))`:  false,
		`Error: testuser[6]: Owned keyword changed: $Label5: * 2 FETCH (UID 2 FLAGS (\Draft $Label5) MODSEQ (900))`: false,
		`Error: testuser[6]: Owned keyword changed: $Label5: * 2 FETCH (UID 2 FLAGS (\Draft $Label5))`:              false,
		`Error: testuser[6]: Owned flag changed: \Seen: * 2 FETCH (UID 2 FLAGS (\Seen) MODSEQ (3))`:                 false,
	} {
		if got := ownedKeywordTolerated(line); got != want {
			t.Errorf("%s: tolerated %v, want %v", line, got, want)
		}
	}
}
