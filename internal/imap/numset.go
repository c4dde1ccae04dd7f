package imap

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// NumRange is one element of a sequence set (RFC 9051 §9 "seq-range").
// A zero Start or Stop stands for "*", the largest number in use.
//
// Ranges built by ParseSeqSet and ParseUIDSet are normalized: when both
// ends are numbers, Start <= Stop; when one end is "*", the number is in
// Start and Stop is 0 ("5:*" and "*:5" both become {5, 0}); "*" alone and
// "*:*" are {0, 0}.
type NumRange struct{ Start, Stop uint32 }

// NumSet is a sequence-set (RFC 9051 §9): a list of numbers and ranges.
// The same syntax carries message sequence numbers and UIDs; the two are
// kept apart by the distinct types SeqSet and UIDSet.
type NumSet []NumRange

// SeqSet is a set of message sequence numbers (RFC 9051 §2.3.1.2).
type SeqSet NumSet

// UIDSet is a set of UIDs (RFC 9051 §2.3.1.1).
type UIDSet NumSet

// ErrInvalidNumSet is wrapped by the errors of ParseSeqSet and ParseUIDSet.
var ErrInvalidNumSet = errors.New("invalid sequence set")

// ParseSeqSet parses a sequence-set of message sequence numbers such as
// "1,3:5,7:*" (RFC 9051 §9). Zero is not a valid seq-number.
func ParseSeqSet(s string) (SeqSet, error) {
	ns, err := parseNumSet(s)
	return SeqSet(ns), err
}

// ParseUIDSet parses a sequence-set of UIDs (RFC 9051 §9, uid-set uses
// the same numbers). Zero is not a valid UID.
func ParseUIDSet(s string) (UIDSet, error) {
	ns, err := parseNumSet(s)
	return UIDSet(ns), err
}

func parseNumSet(s string) (NumSet, error) {
	if s == "" {
		return nil, numSetError(s, "empty")
	}
	set := make(NumSet, 0, strings.Count(s, ",")+1)
	for part := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		x, err := parseSeqNumber(a)
		if err != nil {
			return nil, numSetError(s, err.Error())
		}
		y := x
		if isRange {
			if y, err = parseSeqNumber(b); err != nil {
				return nil, numSetError(s, err.Error())
			}
		}
		set = append(set, normRange(x, y))
	}
	return set, nil
}

func numSetError(s, why string) error {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return &numSetErr{s: s, why: why}
}

type numSetErr struct{ s, why string }

func (e *numSetErr) Error() string {
	return "invalid sequence set " + strconv.Quote(e.s) + ": " + e.why
}
func (e *numSetErr) Unwrap() error { return ErrInvalidNumSet }

// parseSeqNumber parses seq-number = nz-number / "*" (RFC 9051 §9),
// returning 0 for "*". nz-number = digit-nz *DIGIT and fits 32 bits.
func parseSeqNumber(s string) (uint32, error) {
	if s == "*" {
		return 0, nil
	}
	if s == "" {
		return 0, errors.New("missing number")
	}
	if s[0] == '0' {
		return 0, errors.New("zero or leading zero in number")
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errors.New("unexpected character " + strconv.QuoteRune(rune(c)))
		}
		n = n*10 + uint64(c-'0')
		if n > 0xFFFFFFFF {
			return 0, errors.New("number out of range")
		}
	}
	return uint32(n), nil
}

func normRange(x, y uint32) NumRange {
	switch {
	case x == 0:
		return NumRange{y, 0}
	case y == 0:
		return NumRange{x, 0}
	case x > y:
		return NumRange{y, x}
	}
	return NumRange{x, y}
}

// resolve returns the range with "*" replaced by star, ordered. With
// star == 0 (an empty mailbox) "*" matches nothing: "n:*" is just n and
// "*" is {0, 0}.
func (r NumRange) resolve(star uint32) (lo, hi uint32) {
	lo, hi = r.Start, r.Stop
	if lo == 0 {
		lo = star
	}
	if hi == 0 {
		hi = star
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo == 0 { // star == 0: "*" matches nothing, keep the numeric end
		lo = hi
	}
	return lo, hi
}

// Contains reports whether n is in the set, where "*" stands for star,
// the largest sequence number or UID in the mailbox (RFC 9051 §9: "n:*"
// includes star even when n > star).
func (s NumSet) Contains(n, star uint32) bool {
	if n == 0 {
		return false
	}
	for _, r := range s {
		lo, hi := r.resolve(star)
		if lo <= n && n <= hi {
			return true
		}
	}
	return false
}

// Dynamic reports whether the set mentions "*", so that its meaning
// depends on the mailbox.
func (s NumSet) Dynamic() bool {
	for _, r := range s {
		if r.Start == 0 || r.Stop == 0 {
			return true
		}
	}
	return false
}

// String renders the set in IMAP syntax, one element per range in the
// order given, with "*" for 0 and "n" for one-number ranges. An empty set
// renders as "".
func (s NumSet) String() string {
	b := make([]byte, 0, len(s)*8)
	for i, r := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSeqNumber(b, r.Start)
		if r.Stop != r.Start {
			b = append(b, ':')
			b = appendSeqNumber(b, r.Stop)
		}
	}
	return string(b)
}

func appendSeqNumber(b []byte, n uint32) []byte {
	if n == 0 {
		return append(b, '*')
	}
	return strconv.AppendUint(b, uint64(n), 10)
}

// Resolve replaces "*" with star and returns the ranges sorted and merged,
// each with 1 <= Start <= Stop. With star == 0 (an empty mailbox) "*"
// matches nothing and ranges that reach "*" keep only their numeric end.
func (s NumSet) Resolve(star uint32) []NumRange {
	out := make([]NumRange, 0, len(s))
	for _, r := range s {
		lo, hi := r.resolve(star)
		if lo == 0 {
			continue
		}
		out = append(out, NumRange{lo, hi})
	}
	slices.SortFunc(out, func(a, b NumRange) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && (r.Start <= merged[n-1].Stop || r.Start-1 == merged[n-1].Stop) {
			if r.Stop > merged[n-1].Stop {
				merged[n-1].Stop = r.Stop
			}
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// Compact returns the set resolved against star (see Resolve), as a NumSet.
// It is the canonical compact form of a static set.
func (s NumSet) Compact(star uint32) NumSet { return NumSet(s.Resolve(star)) }

// newNumSet compresses a list of numbers into ranges. The input need not
// be sorted; zeros are ignored.
func newNumSet(nums []uint32) NumSet {
	if !slices.IsSorted(nums) {
		nums = slices.Clone(nums)
		slices.Sort(nums)
	}
	var set NumSet
	for _, n := range nums {
		if n == 0 {
			continue
		}
		if k := len(set); k > 0 && (n == set[k-1].Stop || n == set[k-1].Stop+1) {
			set[k-1].Stop = n
			continue
		}
		set = append(set, NumRange{n, n})
	}
	return set
}

// NewSeqSet compresses sequence numbers into ranges: [1 2 3 5] becomes
// "1:3,5". The input need not be sorted.
func NewSeqSet(nums []uint32) SeqSet { return SeqSet(newNumSet(nums)) }

// NewUIDSet compresses UIDs into ranges, as used for APPENDUID and
// COPYUID (RFC 4315 §3) and VANISHED (RFC 7162 §3.2.10). The input need
// not be sorted.
func NewUIDSet(uids []uint32) UIDSet { return UIDSet(newNumSet(uids)) }

// String renders the set in IMAP syntax (see NumSet.String).
func (s SeqSet) String() string { return NumSet(s).String() }

// Contains reports whether seq is in the set; star is the number of
// messages in the mailbox.
func (s SeqSet) Contains(seq, star uint32) bool { return NumSet(s).Contains(seq, star) }

// Dynamic reports whether the set mentions "*".
func (s SeqSet) Dynamic() bool { return NumSet(s).Dynamic() }

// Resolve returns sorted, merged ranges with "*" replaced by star, the
// number of messages (see NumSet.Resolve).
func (s SeqSet) Resolve(star uint32) []NumRange { return NumSet(s).Resolve(star) }

// String renders the set in IMAP syntax (see NumSet.String).
func (s UIDSet) String() string { return NumSet(s).String() }

// Contains reports whether uid is in the set; star is the largest UID in
// the mailbox (RFC 9051 §6.4.9: for UID commands "*" is the largest UID
// in use, and "n:*" always includes it).
func (s UIDSet) Contains(uid, star uint32) bool { return NumSet(s).Contains(uid, star) }

// Dynamic reports whether the set mentions "*".
func (s UIDSet) Dynamic() bool { return NumSet(s).Dynamic() }

// Resolve returns sorted, merged ranges with "*" replaced by star, the
// largest UID in use (see NumSet.Resolve).
func (s UIDSet) Resolve(star uint32) []NumRange { return NumSet(s).Resolve(star) }
