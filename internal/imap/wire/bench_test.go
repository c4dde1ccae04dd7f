package wire

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"barid/internal/imap"
)

// parseFetch parses a UID FETCH command the way a server would, without
// the test-only token rendering of the generic parser.
func parseFetch(d *Decoder) bool {
	var tag, s string
	var set imap.UIDSet
	d.ResetLine()
	if !d.Tag(&tag) || !d.ExpectSP() || !d.ExpectName(&s) || !d.ExpectSP() || !d.ExpectName(&s) ||
		!d.ExpectSP() || !d.ExpectUIDSet(&set) || !d.ExpectSP() {
		return false
	}
	var item func() bool
	item = func() bool {
		if c, ok := d.Peek(); ok && c == '(' {
			return d.ExpectList(item)
		}
		var a string
		if !d.AString(&a) && !d.Name(&a) {
			return false
		}
		if d.Special('[') {
			if !d.Special(']') {
				for {
					if !item() {
						return false
					}
					if d.Special(']') {
						break
					}
					if !d.ExpectSP() {
						return false
					}
				}
			}
		}
		return true
	}
	return d.ExpectList(func() bool {
		var a string
		if !d.ExpectName(&a) {
			return false
		}
		if d.Special('[') && !d.Special(']') {
			for {
				if !item() {
					return false
				}
				if d.Special(']') {
					break
				}
				if !d.ExpectSP() {
					return false
				}
			}
		}
		return true
	}) && d.ExpectCRLF()
}

const fetchCmd = "a123 UID FETCH 1:1000,1005,1010:* (UID FLAGS INTERNALDATE RFC822.SIZE " +
	"BODY.PEEK[HEADER.FIELDS (FROM TO CC BCC SUBJECT DATE MESSAGE-ID PRIORITY X-PRIORITY REFERENCES NEWSGROUPS IN-REPLY-TO CONTENT-TYPE)])\r\n"

func TestParseFetchBench(t *testing.T) {
	d := newDec(fetchCmd, Options{})
	if !parseFetch(d) {
		t.Fatal(d.Err())
	}
}

func BenchmarkDecodeFetchCommand(b *testing.B) {
	const n = 1000
	input := []byte(strings.Repeat(fetchCmd, n))
	br := bytes.NewReader(input)
	r := bufio.NewReader(br)
	d := NewDecoder(r, Options{})
	b.SetBytes(int64(len(fetchCmd)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%n == 0 {
			br.Reset(input)
			r.Reset(br)
		}
		if !parseFetch(d) {
			b.Fatal(d.Err())
		}
	}
}

func writeFetchResponse(e *Encoder, seq uint32, date time.Time) {
	e.Special('*').SP().Number(seq).SP().Atom("FETCH").SP().BeginList().
		Atom("UID").SP().Number(1000+seq).SP().
		Atom("FLAGS").SP().BeginList().Flag(`\Seen`).SP().Flag(`\Answered`).SP().Flag("$Forwarded").EndList().SP().
		Atom("INTERNALDATE").SP().DateTime(date).SP().
		Atom("RFC822.SIZE").SP().Number64(43210).SP().
		Atom("ENVELOPE").SP().BeginList().
		String("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)").SP().
		String("IMAP4rev2 WG mtg summary and minutes").SP().
		BeginList().BeginList().String("Terry Gray").SP().NString("", true).SP().String("gray").SP().String("cac.washington.edu").EndList().EndList().SP().
		BeginList().BeginList().String("Terry Gray").SP().NString("", true).SP().String("gray").SP().String("cac.washington.edu").EndList().EndList().SP().
		BeginList().BeginList().String("Terry Gray").SP().NString("", true).SP().String("gray").SP().String("cac.washington.edu").EndList().EndList().SP().
		BeginList().BeginList().NString("", true).SP().NString("", true).SP().String("imap").SP().String("cac.washington.edu").EndList().EndList().SP().
		BeginList().BeginList().NString("", true).SP().NString("", true).SP().String("minutes").SP().String("CNRI.Reston.VA.US").EndList().SP().
		BeginList().String("John Klensin").SP().NString("", true).SP().String("KLENSIN").SP().String("MIT.EDU").EndList().EndList().SP().
		NString("", true).SP().NString("", true).SP().
		String("<B27397-0100000@cac.washington.edu>").EndList().
		EndList().CRLF()
}

// BenchmarkEncodeFetchResponse encodes a 100-message FETCH response with
// UID, FLAGS, INTERNALDATE, RFC822.SIZE and ENVELOPE (RFC 9051 §7.5.2).
func BenchmarkEncodeFetchResponse(b *testing.B) {
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	e := NewEncoder(w)
	date := time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	var cw countWriter
	ce := NewEncoder(bufio.NewWriter(&cw))
	for seq := uint32(1); seq <= 100; seq++ {
		writeFetchResponse(ce, seq, date)
	}
	_ = ce.Flush()
	b.SetBytes(cw.n)
	b.ReportAllocs()
	for b.Loop() {
		for seq := uint32(1); seq <= 100; seq++ {
			writeFetchResponse(e, seq, date)
		}
		if err := e.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
