package imap

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMUTF7(t *testing.T) {
	tests := []struct{ utf8, mutf7 string }{
		// RFC 3501 §5.1.3 example.
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"", ""},
		{"INBOX", "INBOX"},
		{"&", "&-"},
		{"Tom & Jerry", "Tom &- Jerry"},
		{"&&", "&-&-"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"Gelöschte Elemente", "Gel&APY-schte Elemente"},
		{"Corbeille ô", "Corbeille &APQ-"},
		{"äö", "&AOQA9g-"},
		{"ä&ö", "&AOQ-&-&APY-"},
		{"😀", "&2D3eAA-"}, // surrogate pair
		{"\t", "&AAk-"},
		{"~", "~"},
		{"\x7f", "&AH8-"},
		{"Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"},
	}
	for _, tt := range tests {
		if got := EncodeMUTF7(tt.utf8); got != tt.mutf7 {
			t.Errorf("EncodeMUTF7(%q) = %q, want %q", tt.utf8, got, tt.mutf7)
		}
		got, err := DecodeMUTF7(tt.mutf7)
		if err != nil || got != tt.utf8 {
			t.Errorf("DecodeMUTF7(%q) = %q, %v, want %q", tt.mutf7, got, err, tt.utf8)
		}
	}
}

func TestDecodeMUTF7Invalid(t *testing.T) {
	for _, in := range []string{
		"&",           // unterminated
		"&AOQ",        // unterminated run
		"a&b",         // & not followed by base64 or -
		"&AOQ=-",      // padding char
		"&AO/-",       // "/" is not modified base64
		"&AOR-",       // non-zero padding bits
		"&AOQA-",      // 6 leftover bits (extra char)
		"&AA-",        // too short for one unit, 12 bits
		"&AAA-",       // NUL
		"&AGE-",       // "a" encoded: printable ASCII must represent itself
		"&ACY-",       // "&" encoded
		"&AOQ-&APY-",  // adjacent runs: canonical is &AOQA9g-
		"&2D0-",       // lone high surrogate
		"&3gA-",       // lone low surrogate
		"&2D3YPQ-",    // high followed by high
		"caf\xc3\xa9", // raw 8-bit
		"a\x00b",      // NUL
		"a\nb",        // control
		"\x7f",        // DEL raw
	} {
		if got, err := DecodeMUTF7(in); err == nil {
			t.Errorf("DecodeMUTF7(%q) = %q, want error", in, got)
		} else if !errors.Is(err, ErrBadMUTF7) {
			t.Errorf("DecodeMUTF7(%q): %v does not wrap ErrBadMUTF7", in, err)
		}
	}
}

func TestMUTF7RoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aZ &-/.~ü台😀\t\u0080\uffff\U0010ffff")
	for range 5000 {
		var b strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			if r.IntN(4) == 0 {
				b.WriteRune(rune(1 + r.IntN(0x10ffff)))
			} else {
				b.WriteRune(alphabet[r.IntN(len(alphabet))])
			}
		}
		s := strings.ToValidUTF8(b.String(), "\uFFFD")
		enc := EncodeMUTF7(s)
		dec, err := DecodeMUTF7(enc)
		if err != nil || dec != s {
			t.Fatalf("round trip %q -> %q -> %q, %v", s, enc, dec, err)
		}
	}
}

func TestEncodeMUTF7InvalidUTF8(t *testing.T) {
	got, err := DecodeMUTF7(EncodeMUTF7("a\xffb"))
	if err != nil || got != "a\uFFFDb" {
		t.Errorf("got %q, %v", got, err)
	}
}

// FuzzMUTF7 checks both directions: any valid UTF-8 name without NUL
// round-trips through Encode/Decode, and any string Decode accepts is
// canonical: Encode(Decode(s)) == s.
func FuzzMUTF7(f *testing.F) {
	for _, s := range []string{"~peter/mail/&U,BTFw-/&ZeVnLIqe-", "&-", "Entw&APw-rfe", "&2D3eAA-", "&AGE-", "&AOQ-&APY-", "台北", "a&b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := DecodeMUTF7(s); err == nil {
			if !utf8.ValidString(dec) {
				t.Fatalf("DecodeMUTF7(%q) = invalid UTF-8 %q", s, dec)
			}
			if enc := EncodeMUTF7(dec); enc != s {
				t.Fatalf("non-canonical input accepted: %q -> %q -> %q", s, dec, enc)
			}
		}
		if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
			enc := EncodeMUTF7(s)
			dec, err := DecodeMUTF7(enc)
			if err != nil || dec != s {
				t.Fatalf("round trip %q -> %q -> %q, %v", s, enc, dec, err)
			}
		}
	})
}
