package mailbox

import "testing"

// RFC 4314 §2.1 letters, §2.1.1 obsolete c and d, and the rights
// strings of the RFC's examples (§3.3 "Fred rwipslxetad", §3.4
// "smith la r swicdkxte", §3.5 "rwiptsldaex").
func TestParseRights(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"lrswipkxtea", "lrswipkxtea", true},
		{"aetxkpiwsrl", "lrswipkxtea", true},
		{"rwipslxetad", "lrswipxtea", true}, // d = xte
		{"la", "la", true},
		{"swicdkxte", "swikxte", true}, // c = k
		{"rwiptsldaex", "lrswipxtea", true},
		{"lrz", "", false},
		{"L", "", false},
		{"lr ", "", false},
	} {
		r, ok := ParseRights(tc.in)
		if ok != tc.ok || (ok && r.String() != tc.want) {
			t.Errorf("ParseRights(%q) = %q, %v; want %q, %v", tc.in, r, ok, tc.want, tc.ok)
		}
	}
	if All.String() != RightLetters {
		t.Fatalf("All = %q", All)
	}
}

func TestCheck(t *testing.T) {
	lr, _ := ParseRights("lr")
	r, _ := ParseRights("r")
	i, _ := ParseRights("i")
	for _, tc := range []struct {
		have, need Rights
		want       string
	}{
		{All, RightAdmin, ""},
		{lr, RightRead, ""},
		{lr, RightInsert, "perm"},  // visible: NOPERM
		{r, RightRead, ""},         // "r" without "l" still reads
		{i, RightRead, "missing"},  // invisible: like a missing mailbox
		{0, 0, "missing"},          // no right at all
		{RightLookup, 0, ""},       // MYRIGHTS with just "l"
		{r, RightAdmin, "missing"}, // no "l": never NOPERM
		{lr, RightAdmin, "perm"},   // "l": NOPERM
		{All &^ RightExpunge, RightExpunge, "perm"},
	} {
		err := check(tc.have, tc.need)
		got := ""
		switch {
		case err == nil:
		case IsNoPerm(err):
			got = "perm"
		default:
			got = "missing"
		}
		if got != tc.want {
			t.Errorf("check(%q, %q) = %s, want %s", tc.have, tc.need, got, tc.want)
		}
	}
}

func FuzzParseRights(f *testing.F) {
	for _, s := range []string{"", "lrswipkxtea", "cd", "lrz", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := ParseRights(s)
		if !ok {
			return
		}
		if r&^All != 0 {
			t.Fatalf("%q gives rights outside All: %b", s, r)
		}
		again, ok := ParseRights(r.String())
		if !ok || again != r {
			t.Fatalf("round trip of %q: %q", s, r)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"INBOX", "inbox/x", "a//b", "a/../b", "Other Users/bob/F", "x\x00", "%", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			return
		}
		again, err := Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q, %v", s, n, again, err)
		}
	})
}
