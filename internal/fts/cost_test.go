package fts

import (
	"bytes"
	"compress/flate"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/bench"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
)

// BenchmarkMeasureVerifyCost compares the verify step as it is (MatchText on
// the message bytes, in memory) with decompressing a stored copy of the
// index text (flate) and searching it: the design question whether the
// index should keep the text to verify against (docs/search.md). It is
// a one-shot measurement run as a benchmark, only when BARID_FTS_COST=N
// is set.
func BenchmarkMeasureVerifyCost(t *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("BARID_FTS_COST"))
	if n == 0 {
		t.Skip("set BARID_FTS_COST=N to run the measurement")
	}
	g := bench.NewGenerator(1)
	type rec struct {
		raw  []byte
		root *mime.Part
		comp []byte
		text int
	}
	var rs []rec
	var textTotal, compTotal int
	for i := range n {
		m := g.Message(i)
		root, _ := mime.Parse(bytes.NewReader(m.Body), mime.Limits{})
		txt, _ := TextOf(m.Body)
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		w.Write([]byte(txt))
		w.Close()
		rs = append(rs, rec{m.Body, root, b.Bytes(), len(txt)})
		textTotal += len(txt)
		compTotal += b.Len()
	}
	t0 := time.Now()
	hits := 0
	for _, r := range rs {
		ok, _ := msgdata.MatchText(r.root, r.raw[:r.root.HeaderSize], bytes.NewReader(r.raw), "regards")
		if ok {
			hits++
		}
	}
	d1 := time.Since(t0)
	t0 = time.Now()
	hits2 := 0
	var buf bytes.Buffer
	for _, r := range rs {
		buf.Reset()
		fr := flate.NewReader(bytes.NewReader(r.comp))
		io.Copy(&buf, fr)
		if strings.Contains(buf.String(), "regards") {
			hits2++
		}
	}
	d2 := time.Since(t0)
	t.Logf("%d msgs: MatchText %v (%v/msg, %d hits); flate text %v (%v/msg, %d hits); text %d comp %d (%.1f%%)",
		n, d1, d1/time.Duration(n), hits, d2, d2/time.Duration(n), hits2, textTotal, compTotal, 100*float64(compTotal)/float64(textTotal))
}
