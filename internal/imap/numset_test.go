package imap

import (
	"errors"
	"slices"
	"testing"
)

func expand(s NumSet, star uint32) []uint32 {
	var out []uint32
	for n := uint32(1); n <= star+5; n++ {
		if s.Contains(n, star) {
			out = append(out, n)
		}
	}
	return out
}

func TestParseSeqSetRFCExamples(t *testing.T) {
	tests := []struct {
		in     string
		star   uint32
		want   []uint32
		canon  string
		dyn    bool
		ranges []NumRange
	}{
		// RFC 9051 §9 sequence-set comment: "2,4:7,9,12:* for a mailbox
		// with 15 messages is equivalent to 2,4,5,6,7,9,12,13,14,15".
		{"2,4:7,9,12:*", 15, []uint32{2, 4, 5, 6, 7, 9, 12, 13, 14, 15}, "2,4:7,9,12:*", true,
			[]NumRange{{2, 2}, {4, 7}, {9, 9}, {12, 15}}},
		// "*:4,5:7 for a mailbox with 10 messages is equivalent to
		// 10,9,8,7,6,5,4,5,6,7 and MAY be reordered and overlap coalesced
		// to be 4,5,6,7,8,9,10".
		{"*:4,5:7", 10, []uint32{4, 5, 6, 7, 8, 9, 10}, "4:*,5:7", true, []NumRange{{4, 10}}},
		{"1", 3, []uint32{1}, "1", false, []NumRange{{1, 1}}},
		{"5:3", 9, []uint32{3, 4, 5}, "3:5", false, []NumRange{{3, 5}}},
		{"*", 7, []uint32{7}, "*", true, []NumRange{{7, 7}}},
		{"*:*", 7, []uint32{7}, "*", true, []NumRange{{7, 7}}},
		// "n:*" includes * even when n is larger (RFC 9051 §6.4.9 for UIDs).
		{"20:*", 7, []uint32{7, 8, 9, 10, 11, 12}, "20:*", true, []NumRange{{7, 20}}},
		{"4294967295", 1, nil, "4294967295", false, []NumRange{{4294967295, 4294967295}}},
		{"1:3,2:6,8,9", 20, []uint32{1, 2, 3, 4, 5, 6, 8, 9}, "1:3,2:6,8,9", false, []NumRange{{1, 6}, {8, 9}}},
	}
	for _, tt := range tests {
		s, err := ParseSeqSet(tt.in)
		if err != nil {
			t.Errorf("ParseSeqSet(%q): %v", tt.in, err)
			continue
		}
		if got := expand(NumSet(s), tt.star); !slices.Equal(got, tt.want) {
			t.Errorf("%q with *=%d: got %v, want %v", tt.in, tt.star, got, tt.want)
		}
		if got := s.String(); got != tt.canon {
			t.Errorf("%q.String() = %q, want %q", tt.in, got, tt.canon)
		}
		if got := s.Dynamic(); got != tt.dyn {
			t.Errorf("%q.Dynamic() = %v", tt.in, got)
		}
		if got := s.Resolve(tt.star); !slices.Equal(got, tt.ranges) {
			t.Errorf("%q.Resolve(%d) = %v, want %v", tt.in, tt.star, got, tt.ranges)
		}
		u, err := ParseUIDSet(tt.in)
		if err != nil || u.String() != tt.canon {
			t.Errorf("ParseUIDSet(%q) = %v, %v", tt.in, u, err)
		}
		// String output parses back to the same set.
		again, err := ParseSeqSet(s.String())
		if err != nil || !slices.Equal(again, s) {
			t.Errorf("reparse of %q: %v, %v", s.String(), again, err)
		}
	}
}

func TestParseSeqSetInvalid(t *testing.T) {
	for _, in := range []string{
		"", "0", "0:5", "5:0", "01", "1:", ":1", ",1", "1,", "1,,2", "1:2:3",
		"a", "1a", "-1", "+1", "4294967296", "99999999999999999999", " 1", "1 ", "$", "**",
	} {
		if s, err := ParseSeqSet(in); err == nil {
			t.Errorf("ParseSeqSet(%q) = %v, want error", in, s)
		} else if !errors.Is(err, ErrInvalidNumSet) {
			t.Errorf("ParseSeqSet(%q) error %v does not wrap ErrInvalidNumSet", in, err)
		}
	}
}

func TestContainsEmptyMailbox(t *testing.T) {
	s, _ := ParseUIDSet("1:*")
	// With star 0 "*" matches nothing and "1:*" keeps its numeric end,
	// consistently in Contains and Resolve.
	if !s.Contains(1, 0) || s.Contains(2, 0) {
		t.Error("1:* with star 0 should contain exactly 1")
	}
	if got := s.Resolve(0); !slices.Equal(got, []NumRange{{1, 1}}) {
		t.Errorf("Resolve(0) = %v", got)
	}
	star, _ := ParseUIDSet("*")
	if got := star.Resolve(0); len(got) != 0 {
		t.Errorf("*.Resolve(0) = %v, want empty", got)
	}
	if NumSet(s).Contains(0, 10) {
		t.Error("contains 0")
	}
}

func TestNewUIDSet(t *testing.T) {
	tests := []struct {
		in   []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{1}, "1"},
		{[]uint32{1, 2, 3, 5}, "1:3,5"},
		// RFC 4315 §3 example: COPYUID 38505 304,319:320 3956:3958.
		{[]uint32{304, 319, 320}, "304,319:320"},
		{[]uint32{3956, 3957, 3958}, "3956:3958"},
		{[]uint32{5, 3, 4, 4, 1, 0}, "1,3:5"},
		{[]uint32{4294967294, 4294967295}, "4294967294:4294967295"},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := NewUIDSet(tt.in).String(); got != tt.want {
			t.Errorf("NewUIDSet(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("NewUIDSet modified its input")
		}
		if got := NewSeqSet(tt.in).String(); got != tt.want {
			t.Errorf("NewSeqSet(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNumSet(f *testing.F) {
	for _, s := range []string{"1", "2,4:7,9,12:*", "*:4,5:7", "0", "1:4294967295", "3:1,*"} {
		f.Add(s, uint32(10))
	}
	f.Fuzz(func(t *testing.T, s string, star uint32) {
		set, err := ParseSeqSet(s)
		if err != nil {
			return
		}
		str := set.String()
		again, err := ParseSeqSet(str)
		if err != nil || !slices.Equal(again, set) {
			t.Fatalf("%q -> %q -> %v, %v", s, str, again, err)
		}
		if star > 1000 {
			star %= 1000
		}
		// Resolve agrees with Contains.
		res := NumSet(set.Resolve(star))
		for n := uint32(1); n <= 1100; n++ {
			if res.Contains(n, star) != set.Contains(n, star) {
				t.Fatalf("%q *=%d: Resolve %v and Contains disagree at %d", s, star, res, n)
			}
		}
	})
}
