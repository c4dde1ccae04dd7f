package sieve

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// rules50 is a 50-rule script of the kinds clients generate.
func rules50() string {
	var b strings.Builder
	b.WriteString(`require ["fileinto","imap4flags","variables","relational","comparator-i;ascii-numeric","envelope","subaddress"];` + "\n")
	for k := 0; k < 50; k++ {
		switch k % 5 {
		case 0:
			fmt.Fprintf(&b, "if header :contains \"subject\" \"topic%d\" { fileinto \"T%d\"; stop; }\n", k, k)
		case 1:
			fmt.Fprintf(&b, "if address :is :domain \"from\" \"domain%d.example\" { addflag \"$D%d\"; }\n", k, k)
		case 2:
			fmt.Fprintf(&b, "if header :matches \"list-id\" \"*<list%d.*>*\" { fileinto \"L%d\"; }\n", k, k)
		case 3:
			fmt.Fprintf(&b, "if envelope :detail \"to\" \"tag%d\" { fileinto \"Tag%d\"; }\n", k, k)
		case 4:
			fmt.Fprintf(&b, "if header :value \"ge\" :comparator \"i;ascii-numeric\" \"x-spam-score\" \"%d\" { addflag \"$S\"; }\n", 100+k)
		}
	}
	return b.String()
}

func BenchmarkExecute50Rules(b *testing.B) {
	s, err := Compile("rules50", []byte(rules50()), Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	env := testEnv(testMsg)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Execute(ctx, env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile50Rules(b *testing.B) {
	src := []byte(rules50())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("rules50", src, Options{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
