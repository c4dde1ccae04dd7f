package header

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseAddressList: any header value parses without panic; group
// markers are balanced and addresses always have a mailbox and domain.
func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{`a@b`, `A Group:Ed Jones <c@a.test>,joe@where.test;`, `"x" <@r:y@z>`, `,,<>;:@`, `"unterminated <x@y>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		depth := 0
		for _, a := range ParseAddressList(s) {
			switch {
			case a.GroupStart:
				depth++
			case a.GroupEnd:
				depth--
			case a.Mailbox == "" && a.Domain == "":
				t.Fatalf("empty address from %q", s)
			}
			if depth < 0 || depth > 1 {
				t.Fatalf("unbalanced groups from %q", s)
			}
		}
	})
}

// FuzzDecodeWords: decoding never panics and always yields valid UTF-8.
func FuzzDecodeWords(f *testing.F) {
	f.Add("=?utf-8?q?a=C3=A9?= =?iso-8859-1?b?6Q==?=")
	f.Add("=?x?y?z?= =?")
	f.Fuzz(func(t *testing.T, s string) {
		if out := DecodeWords(s); !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		_, _ = BaseSubject(s)
		_, _ = ParseDate(s)
	})
}

// FuzzSubjectBase: the base subject is a substring of the space-packed
// input, never starts with a space, never ends with a space or "(fwd)",
// and extracting it again changes nothing unless step (4) kept a lone
// blob or a "[fwd:" wrapper was exposed (RFC 5256 §2.1 repeats the steps
// until nothing matches).
func FuzzSubjectBase(f *testing.F) {
	for _, s := range []string{"Re: [Fwd: Re: Hello (fwd)]", "[a][b] x", "[fwd:]", "re [x]: y", " (fwd)(fwd)", "[fwd: [fwd: a] ]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, _ := SubjectBase(s)
		if !strings.Contains(packSpace(s), b) {
			t.Fatalf("SubjectBase(%q) = %q: not part of the input", s, b)
		}
		if strings.HasPrefix(b, " ") || strings.HasSuffix(b, " ") || hasPrefixFold(strings.ToLower(b[max(0, len(b)-5):]), "(fwd)") {
			t.Fatalf("SubjectBase(%q) = %q: leader or trailer left", s, b)
		}
		if b2, _ := SubjectBase(b); b2 != b && !strings.HasPrefix(b, "[") {
			t.Fatalf("SubjectBase not stable: %q -> %q -> %q", s, b, b2)
		}
	})
}

// FuzzMessageIDs: never panics; every id found has an "@", and there
// are never more ids than "<" in the input.
func FuzzMessageIDs(f *testing.F) {
	for _, s := range []string{"<a@b> <c@d>", `<"x y"@z>`, "<(c)a@b>", "<a@[1.2.3.4]>", "< a @ b >", "<<<@>>>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := MessageIDs(s)
		if len(ids) > strings.Count(s, "<") {
			t.Fatalf("MessageIDs(%q) = %q: more ids than '<'", s, ids)
		}
		for _, id := range ids {
			if !strings.Contains(id, "@") {
				t.Fatalf("MessageIDs(%q) gave %q without @", s, id)
			}
		}
	})
}
