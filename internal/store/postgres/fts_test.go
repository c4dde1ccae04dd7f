package postgres

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestTextLinesKeepsMatches checks what TextLines may drop: for every
// needle without a line break, it occurs in the stored body exactly when
// it occurs in the body, and in head+body exactly when it occurs in the
// whole text; a needle with breaks has every piece of linePieces in the
// stored text when it occurs in the text, and is never sure.
func TestTextLinesKeepsMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "ab", "ba", "\n", "\r\n", "\r", " ", "é", "abc", "bca"}
	gen := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 2000 {
		// msgdata.TextSplit ends each segment with a newline, so head
		// (which TEXT joins before body) is empty or ends with one.
		head, body := gen(rng.IntN(30)), gen(rng.IntN(40))
		if head != "" && rng.IntN(4) > 0 {
			head += "\n"
		} else if head != "" {
			head += "\r\n"
		}
		h, b := TextLines(head, body)
		if len(h)+len(b) > len(head)+len(body)+2 {
			t.Fatalf("TextLines(%q, %q) = %q, %q: longer than its input", head, body, h, b)
		}
		for range 40 {
			var n string
			if rng.IntN(2) == 0 {
				src := head + body
				if src == "" {
					continue
				}
				i := rng.IntN(len(src))
				n = src[i:min(len(src), i+1+rng.IntN(8))]
			} else {
				n = gen(1 + rng.IntN(4))
			}
			if !strings.Contains(n, "\n") && !strings.Contains(n, "\r") {
				if strings.Contains(body, n) != strings.Contains(b, n) {
					t.Fatalf("body %q, stored %q: BODY %q differs", body, b, n)
				}
				if strings.Contains(head+body, n) != strings.Contains(h+b, n) {
					t.Fatalf("text %q, stored %q: TEXT %q differs", head+body, h+b, n)
				}
				continue
			}
			pieces, sure := linePieces(n)
			if sure {
				t.Fatalf("linePieces(%q) is sure", n)
			}
			if !strings.Contains(head+body, n) {
				continue
			}
			for _, p := range pieces {
				if !strings.Contains(h+b, p) {
					t.Fatalf("text %q holds %q but the stored %q lacks its piece %q", head+body, n, h+b, p)
				}
				if strings.Contains(body, n) && !strings.Contains(b, p) {
					t.Fatalf("body %q holds %q but the stored %q lacks its piece %q", body, n, b, p)
				}
			}
		}
	}
}

func TestTextLines(t *testing.T) {
	h, b := TextLines("from: ann\r\nsubject: hi\r\nfrom: ann\nhello world\n", "hello world\r\n\r\nsig\nhello world\n")
	if b != "hello world\nsig\n" || h != "from: ann\nsubject: hi\n" {
		t.Fatalf("TextLines = %q, %q", h, b)
	}
}
