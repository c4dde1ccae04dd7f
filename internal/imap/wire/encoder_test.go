package wire

import (
	"bufio"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"barid/internal/imap"
)

func encode(f func(e *Encoder)) (string, error) {
	var b strings.Builder
	w := bufio.NewWriter(&b)
	e := NewEncoder(w)
	f(e)
	err := e.Flush()
	return b.String(), err
}

func TestEncodeRFCResponses(t *testing.T) {
	date := time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	tests := []struct {
		name string
		f    func(e *Encoder)
		want string
	}{
		// RFC 9051 §7.5.2 FETCH response example (abridged).
		{"fetch", func(e *Encoder) {
			e.Special('*').SP().Number(12).SP().Atom("FETCH").SP().BeginList().
				Atom("FLAGS").SP().BeginList().Flag(`\Seen`).SP().Flag("$Junk").EndList().SP().
				Atom("INTERNALDATE").SP().DateTime(date).SP().
				Atom("RFC822.SIZE").SP().Number64(4286).SP().
				Atom("ENVELOPE").SP().BeginList().String("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)").SP().
				String("IMAP4rev2 WG mtg summary and minutes").SP().
				BeginList().BeginList().String("Terry Gray").SP().NString("", true).SP().String("gray").SP().
				String("cac.washington.edu").EndList().EndList().EndList().EndList().CRLF()
		}, `* 12 FETCH (FLAGS (\Seen $Junk) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ` +
			`ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" ` +
			`(("Terry Gray" NIL "gray" "cac.washington.edu"))))` + "\r\n"},
		// RFC 9051 §7.3.1 LIST response.
		{"list", func(e *Encoder) {
			e.RawString("* LIST (").Flag(`\Noselect`).RawString(`) "/" `).AString("~/Mail/foo").CRLF()
		}, "* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n"},
		// RFC 4315 §3 COPYUID.
		{"copyuid", func(e *Encoder) {
			e.RawString("A004 OK [COPYUID 38505 ").UIDSet(imap.NewUIDSet([]uint32{304, 319, 320})).SP().
				UIDSet(imap.NewUIDSet([]uint32{3956, 3957, 3958})).RawString("] Done").CRLF()
		}, "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"},
		{"seqset", func(e *Encoder) {
			s, _ := imap.ParseSeqSet("1:*")
			e.SeqSet(s)
		}, "1:*"},
		{"literal", func(e *Encoder) { e.Literal(5, strings.NewReader("hello world")) }, "{5}\r\nhello"},
		{"literal8", func(e *Encoder) { e.Literal8(2, strings.NewReader("\x00\x01")) }, "~{2}\r\n\x00\x01"},
		{"raw", func(e *Encoder) { e.Raw([]byte("+ ")).RawString("Ready").CRLF() }, "+ Ready\r\n"},
		{"numbers", func(e *Encoder) { e.Number(4294967295).SP().Number64(9223372036854775807) }, "4294967295 9223372036854775807"},
		{"flag wildcard", func(e *Encoder) { e.Flag(`\*`) }, `\*`},
	}
	for _, tt := range tests {
		got, err := encode(tt.f)
		if err != nil || got != tt.want {
			t.Errorf("%s:\n got %q, %v\nwant %q", tt.name, got, err, tt.want)
		}
	}
}

func TestEncodeStrings(t *testing.T) {
	long := strings.Repeat("x", 1001)
	tests := []struct {
		in            string
		str, astr     string
		strU8, astrU8 string
	}{
		{"abc", `"abc"`, "abc", `"abc"`, "abc"},
		{"", `""`, `""`, `""`, `""`},
		{"NIL", `"NIL"`, `"NIL"`, `"NIL"`, `"NIL"`},
		{"nil", `"nil"`, `"nil"`, `"nil"`, `"nil"`},
		{"NILS", `"NILS"`, "NILS", `"NILS"`, "NILS"},
		{"a b", `"a b"`, `"a b"`, `"a b"`, `"a b"`},
		{`a"b\c`, `"a\"b\\c"`, `"a\"b\\c"`, `"a\"b\\c"`, `"a\"b\\c"`},
		{"a]", `"a]"`, "a]", `"a]"`, "a]"},
		{"a*", `"a*"`, `"a*"`, `"a*"`, `"a*"`},
		{"a\r\nb", "{4}\r\na\r\nb", "{4}\r\na\r\nb", "{4}\r\na\r\nb", "{4}\r\na\r\nb"},
		{"café", "{5}\r\ncafé", "{5}\r\ncafé", `"café"`, `"café"`},
		{"caf\xe9", "{4}\r\ncaf\xe9", "{4}\r\ncaf\xe9", "{4}\r\ncaf\xe9", "{4}\r\ncaf\xe9"},
		{long, "{1001}\r\n" + long, long, "{1001}\r\n" + long, long},
		{long + " ", "{1002}\r\n" + long + " ", "{1002}\r\n" + long + " ", "{1002}\r\n" + long + " ", "{1002}\r\n" + long + " "},
		{long[:1000], `"` + long[:1000] + `"`, long[:1000], `"` + long[:1000] + `"`, long[:1000]},
	}
	for _, tt := range tests {
		for _, u8 := range []bool{false, true} {
			wantS, wantA := tt.str, tt.astr
			if u8 {
				wantS, wantA = tt.strU8, tt.astrU8
			}
			s, _ := encode(func(e *Encoder) { e.SetUTF8(u8); e.String(tt.in) })
			a, _ := encode(func(e *Encoder) { e.SetUTF8(u8); e.AString(tt.in) })
			if s != wantS || a != wantA {
				t.Errorf("%.20q utf8=%v: String %.30q (want %.30q), AString %.30q (want %.30q)", tt.in, u8, s, wantS, a, wantA)
			}
		}
	}
}

func TestEncoderErrors(t *testing.T) {
	got, err := encode(func(e *Encoder) { e.Atom("a").Flag("bad flag").Atom("b") })
	if err == nil || got != "" { // nothing is flushed after an error
		t.Errorf("bad flag: %q %v", got, err)
	}
	_, err = encode(func(e *Encoder) { e.Number64(-1) })
	if err == nil {
		t.Error("negative number64 accepted")
	}
	_, err = encode(func(e *Encoder) { e.Literal(10, strings.NewReader("short")) })
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short literal: %v", err)
	}
	errBoom := errors.New("boom")
	_, err = encode(func(e *Encoder) { e.Literal(10, iotest.ErrReader(errBoom)) })
	if !errors.Is(err, errBoom) {
		t.Errorf("failing reader: %v", err)
	}
	// A failing writer makes the error sticky.
	w := bufio.NewWriterSize(errWriter{errBoom}, 16)
	e := NewEncoder(w)
	e.RawString(strings.Repeat("x", 100))
	if !errors.Is(e.Err(), errBoom) || !errors.Is(e.Atom("y").Flush(), errBoom) {
		t.Errorf("failing writer: %v", e.Err())
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

// Every string the encoder writes decodes back to the same value.
func TestStringRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("aZ09 \"\\(){}%*]\r\n\x01\x7f+~$-é")
	for i := range 3000 {
		n := r.IntN(20)
		if i%100 == 0 {
			n = 990 + r.IntN(30)
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		checkRoundTrip(t, string(b), i%2 == 0)
	}
}

func checkRoundTrip(t *testing.T, s string, u8 bool) {
	t.Helper()
	enc, err := encode(func(e *Encoder) {
		e.SetUTF8(u8)
		e.String(s).SP().AString(s).SP().NString(s, false).SP().NString(s, true).CRLF()
	})
	if err != nil {
		t.Fatal(err)
	}
	d := newDec(enc, Options{MaxStringLiteral: 1 << 20})
	var a, b, c, n string
	var isNil, isNil2 bool
	if !d.ExpectString(&a) || !d.ExpectSP() || !d.ExpectAString(&b) || !d.ExpectSP() ||
		!d.ExpectNString(&c, &isNil) || !d.ExpectSP() || !d.ExpectNString(&n, &isNil2) || !d.ExpectCRLF() {
		t.Fatalf("%q encoded as %q: decode error %v", s, enc, d.Err())
	}
	if a != s || b != s || c != s || isNil || !isNil2 {
		t.Fatalf("%q encoded as %q decoded as %q %q %q", s, enc, a, b, c)
	}
}

// FuzzStringRoundTrip: encoder output always decodes to the input.
func FuzzStringRoundTrip(f *testing.F) {
	for _, s := range []string{"", "NIL", "a b", "café", "\r\n", `"\`, "a]", strings.Repeat("x", 1001)} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, u8 bool) {
		if strings.IndexByte(s, 0) >= 0 || len(s) > 1<<16 {
			return // NUL is not allowed in strings (RFC 9051 §4.3)
		}
		checkRoundTrip(t, s, u8)
	})
}
