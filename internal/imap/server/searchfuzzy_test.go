package server

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"barid/internal/blob/tiered"
	"barid/internal/fts"
	"barid/internal/search/fuzzy"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// fuzzyWords are words for SEARCH FUZZY's property test: stem families
// whose members share only their first letters (pony, ponies), prefixes
// of longer words, accents in NFC and NFD, other scripts, and digits.
var fuzzyWords = []string{
	"pony", "ponies", "poni", "connect", "connected", "connection", "connecting", "conference",
	"confer", "run", "running", "runs", "runner", "generalization", "generalize", "general",
	"happy", "happiness", "happily", "dying", "die", "lying", "news", "skis", "ski",
	"café", norm.NFD.String("café"), "naïve", norm.NFD.String("naïve"), "résumé", "Straße", "über",
	"ZANZIBARITE", "zanzibar", "zanzibarites", "report", "reports", "reported", "re", "a", "x1",
	"42", "4242", "mp3", "σοφός", "Встреча", "встречи", "مرحبا", "كتـــاب", "東京都は日本",
}

// fuzzySeps are what stands between words: ASCII separators, and
// non-ASCII characters that are not letters (guillemets, a dash, a
// typographic apostrophe, a no-break space, a combining mark alone),
// which FTS5's ascii tokenizer keeps inside its terms while the fuzzy
// matcher splits words there.
var fuzzySeps = []string{" ", " ", " ", ". ", "-", "\n", "«", "»", "—", "’", "\u00a0", " \u0301", "é", "1"}

func fuzzyMessage(r *rand.Rand, i int) string {
	text := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(fuzzySeps[r.IntN(len(fuzzySeps))])
			w := fuzzyWords[r.IntN(len(fuzzyWords))]
			if r.IntN(4) == 0 {
				w = strings.ToUpper(w)
			}
			b.WriteString(w)
		}
		return b.String()
	}
	body := text(1 + r.IntN(12))
	var b strings.Builder
	fmt.Fprintf(&b, "From: u%d@example.org\r\nTo: bob@example.org\r\nMessage-ID: <%d@fuzzy.example>\r\n", i, i)
	fmt.Fprintf(&b, "Subject: =?utf-8?b?%s?=\r\nMIME-Version: 1.0\r\n", base64.StdEncoding.EncodeToString([]byte(text(1+r.IntN(3)))))
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n",
			base64.StdEncoding.EncodeToString([]byte(body)))
	} else {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
			strings.ReplaceAll(body, "\n", "\r\n"))
	}
	return b.String()
}

// fuzzyNeedle is one or two words of fuzzyWords, or a beginning of one,
// in any case.
func fuzzyNeedle(r *rand.Rand) string {
	w := fuzzyWords[r.IntN(len(fuzzyWords))]
	switch r.IntN(4) {
	case 0:
		rs := []rune(w)
		w = string(rs[:1+r.IntN(len(rs))])
	case 1:
		w += " " + fuzzyWords[r.IntN(len(fuzzyWords))]
	}
	if r.IntN(3) == 0 {
		w = strings.ToUpper(w)
	}
	return w
}

// TestFuzzyIndexAgreesWithScan checks SEARCH FUZZY narrowed by the
// SQLite vocabulary (searchfuzzy.go, ftsfuzzy.go) against the scan on
// random corpora and needles: the same UIDs and the same RELEVANCY
// scores (RFC 6203 §4), with messages pending beside indexed ones. It
// also checks that the vocabulary narrows most needles.
func TestFuzzyIndexAgreesWithScan(t *testing.T) {
	// The two differential search tests are the package's longest (each
	// about two minutes under -race, mostly one core's work): they run
	// side by side, after the package's serial tests.
	t.Parallel()
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 6203))
	var opts sqlite.Options
	if seed%2 == 0 {
		opts.DocMapMinHits = 1
	}
	f := newStoreFixtureOpts(t, "sam", opts)
	tb := tiered.New(f.st, f.bs)
	f.blobs, f.deliv.Blobs, f.deliv.InlineMax = tb, tb, 700
	const indexed, pending = 200, 30
	deliver := func(n, from int) {
		for i := range n {
			m := fuzzyMessage(r, from+i)
			if _, err := f.deliv.Deliver(ctx, f.inbox.ID, strings.NewReader(m), 0, store.Flags{}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver(indexed, 0)
	ix := fts.New(f.st, tb, nil)
	if n, err := ix.CatchUp(ctx, 0, nil); err != nil || n != indexed {
		t.Fatalf("indexed %d, %v; want %d", n, err, indexed)
	}
	deliver(pending, indexed)

	session := func(noPushdown bool) func(string) string {
		cfg := Config{NoSearchPushdown: noPushdown}
		if noPushdown {
			cfg.Blobs = singleBlobs{tb}
		}
		addr := f.serve(t, cfg, nil)
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		br := bufio.NewReader(nc)
		br.ReadString('\n')
		n := 0
		return func(cmd string) string {
			n++
			tag := fmt.Sprintf("t%d", n)
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(nc, "%s %s\r\n", tag, cmd)
			var out []string
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
				if strings.HasPrefix(l, tag+" ") {
					return strings.Join(out, "") + l[len(tag):]
				}
				out = append(out, l)
			}
		}
	}
	fast, slow := session(false), session(true)
	for _, c := range []string{"LOGIN sam pw", "EXAMINE INBOX"} {
		fast(c)
		slow(c)
	}
	lit := func(s string) string { return fmt.Sprintf("{%d+}\r\n%s", len(s), s) }
	keys := []func() string{
		func() string { return "FUZZY TEXT " + lit(fuzzyNeedle(r)) },
		func() string { return "FUZZY BODY " + lit(fuzzyNeedle(r)) },
		func() string { return "FUZZY TEXT " + lit(fuzzyNeedle(r)) + " FUZZY BODY " + lit(fuzzyNeedle(r)) },
		func() string { return "NOT FUZZY BODY " + lit(fuzzyNeedle(r)) },
		func() string { return "OR FUZZY BODY " + lit(fuzzyNeedle(r)) + " FUZZY SUBJECT " + lit(fuzzyNeedle(r)) },
		func() string { return "FUZZY TEXT " + lit(fuzzyNeedle(r)) + " BODY " + lit(fuzzyNeedle(r)) },
	}
	const searches = 300
	hits := 0
	for i := range searches {
		k := keys[i%len(keys)]()
		// Without RELEVANCY the index decides the messages it is sure
		// of; with it every candidate is read for its score.
		cmd := "UID SEARCH CHARSET UTF-8 " + k
		if i%2 == 0 {
			cmd = "UID SEARCH RETURN (ALL RELEVANCY) CHARSET UTF-8 " + k
		}
		a, b := fast(cmd), slow(cmd)
		if a != b {
			t.Errorf("%q:\n index: %s scan:  %s", cmd, a, b)
		}
		if !strings.Contains(a, " OK") {
			t.Fatalf("%q failed: %s", cmd, a)
		}
		if strings.Contains(a, " ALL ") || strings.HasPrefix(a, "* SEARCH ") {
			hits++
		}
	}
	// The vocabulary must narrow: most needles of an ASCII word have
	// candidates among fewer than all messages.
	m := fuzzy.NewMatcher(fuzzy.DefaultLanguages)
	narrowed, tried, decided := 0, 0, 0
	for range 100 {
		n := fuzzyNeedle(r)
		iw := m.Query(n).IndexWords()
		if len(iw) == 0 {
			continue
		}
		tried++
		words := make([]store.FuzzyWord, len(iw))
		for i, w := range iw {
			words[i] = store.FuzzyWord{Word: w.Word, Prefix: w.Prefix, Match: w.Matches}
		}
		maybe, sure, ok, err := f.st.FuzzyLookup(ctx, f.inbox.ID, words, len(iw) == m.Query(n).Words(), false)
		if err != nil {
			t.Fatal(err)
		}
		if len(sure) > 0 {
			decided++
		}
		if ok && len(maybe) < indexed+pending {
			narrowed++
		}
	}
	t.Logf("%d of %d searches found messages; %d of %d ASCII needles narrowed, %d with sure answers", hits, searches, narrowed, tried, decided)
	if hits < searches/3 || narrowed < tried/2 || decided < tried/3 {
		t.Errorf("the corpus does not exercise the index: %d searches with hits, %d of %d narrowed, %d sure", hits, narrowed, tried, decided)
	}
}
