package bench

import (
	"errors"
	"strings"
	"testing"
)

// rfcFetch is the FETCH response example of RFC 3501 §7.4.2 (the same
// message appears in RFC 9051 §7.5.2), on one line.
const rfcFetch = `(FLAGS (\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" ` +
	`RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" ` +
	`"IMAP4rev1 WG mtg summary and minutes" ` +
	`(("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
	`(("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
	`(("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
	`((NIL NIL "imap" "cac.washington.edu")) ` +
	`((NIL NIL "minutes" "CNRI.Reston.VA.US")` +
	`("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ` +
	`"<B27397-0100000@cac.washington.edu>") ` +
	`BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))`

func TestFetchItems(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		items map[string]string // name -> raw value (literal content for literals)
		lens  map[string]int    // list lengths to check
		err   string
	}{
		{
			name: "RFC 3501 example",
			in:   rfcFetch,
			items: map[string]string{
				"FLAGS":        `(\Seen)`,
				"INTERNALDATE": "17-Jul-1996 02:44:25 -0700",
				"RFC822.SIZE":  "4286",
			},
			lens: map[string]int{"ENVELOPE": 10, "BODY": 8, "FLAGS": 1},
		},
		{
			name:  "literal body",
			in:    "(UID 5 BODY[] {5}\r\nhello)",
			items: map[string]string{"UID": "5", "BODY[]": "hello"},
		},
		{
			name:  "section with spaces and partial",
			in:    "(BODY[HEADER.FIELDS (FROM TO)]<0> {3}\r\nabc UID 9)",
			items: map[string]string{"BODY[HEADER.FIELDS (FROM TO)]<0>": "abc", "UID": "9"},
		},
		{
			name:  "literal8 (RFC 3516)",
			in:    "(BINARY[1] ~{2}\r\n\x00\x01)",
			items: map[string]string{"BINARY[1]": "\x00\x01"},
		},
		{
			name:  "quoted with escapes",
			in:    `(X-GM-LABELS "a \"b\" \\c")`,
			items: map[string]string{"X-GM-LABELS": `a \"b\" \\c`},
		},
		{
			name: "multipart bodystructure (RFC 3501 §7.4.2 body-type-mpart)",
			in: `(BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)` +
				`("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" ` +
				`"Compiler diff" "BASE64" 4554 73) "MIXED"))`,
			lens: map[string]int{"BODYSTRUCTURE": 3},
		},
		{name: "unbalanced", in: `(FLAGS (\Seen)`, err: "unterminated FETCH list"},
		{name: "short literal", in: "(BODY[] {10}\r\nabc)", err: "shorter than its declared"},
		{name: "literal without CRLF", in: "(BODY[] {3}abc)", err: "not followed by CRLF"},
		{name: "no value", in: "(UID)", err: "has no value"},
		{name: "junk after list", in: `(FLAGS (\Seen)x)`, err: "junk"},
		{name: "junk after the whole list", in: `(UID 1) X`, err: "junk after FETCH list"},
		{name: "not a list", in: `UID 1`, err: "not a list"},
		{name: "unterminated quote", in: `(X "abc)`, err: "unterminated quoted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]Value{}
			err := fetchItems([]byte(tc.in), func(name []byte, v Value) error {
				got[string(name)] = v
				return nil
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("err %T is not a *ProtocolError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.items {
				if v, ok := got[k]; !ok || string(v.Raw) != want {
					t.Errorf("%s = %q (present %v), want %q", k, v.Raw, ok, want)
				}
			}
			for k, want := range tc.lens {
				n, err := listLen(got[k])
				if err != nil || n != want {
					t.Errorf("len(%s) = %d, %v; want %d", k, n, err, want)
				}
			}
		})
	}
}

func TestListLenErrors(t *testing.T) {
	for _, in := range []string{"", "(", "NIL", `("a"`, `("a" ("b")`} {
		if _, err := listLen(Value{Raw: []byte(in)}); err == nil {
			t.Errorf("listLen(%q) succeeded", in)
		}
	}
	if n, err := listLen(Value{Raw: []byte("()")}); err != nil || n != 0 {
		t.Errorf("listLen(()) = %d, %v", n, err)
	}
}

func TestDepthLimit(t *testing.T) {
	in := strings.Repeat("(", maxDepth+5) + strings.Repeat(")", maxDepth+5)
	_, _, err := skipValue([]byte(in), 0, 0)
	if err == nil || !strings.Contains(err.Error(), "maxDepth") {
		t.Fatalf("err = %v, want the maxDepth limit named", err)
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		in   string
		want []uint32
		err  bool
	}{
		{"2 84 882", []uint32{2, 84, 882}, false}, // RFC 3501 §7.2.5
		{"", nil, false},
		{"5 3 (MODSEQ 917162500)", []uint32{5, 3}, false}, // RFC 7162 §3.1.5
		{"1 x", []uint32{1}, true},
		{"0", nil, true},
	}
	for _, tc := range tests {
		var got []uint32
		err := numbers([]byte(tc.in), func(n uint32) error { got = append(got, n); return nil })
		if (err != nil) != tc.err {
			t.Errorf("%q: err = %v", tc.in, err)
		}
		if !tc.err && !equalU32(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func equalU32(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHasFlag(t *testing.T) {
	if !hasFlag([]byte(`(\Seen $Label2)`), `$label2`) || hasFlag([]byte(`(\Seen)`), `\Flagged`) || hasFlag(nil, `\Seen`) {
		t.Fatal("hasFlag is wrong")
	}
}

func FuzzFetchItems(f *testing.F) {
	f.Add([]byte(rfcFetch))
	f.Add([]byte("(UID 5 BODY[] {5}\r\nhello)"))
	f.Add([]byte("(BODY[HEADER.FIELDS (FROM TO)]<0> {3}\r\nabc UID 9)"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fetchItems(b, func(name []byte, v Value) error {
			listLen(v)
			return nil
		})
	})
}
