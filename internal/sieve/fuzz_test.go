package sieve

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzCompile feeds arbitrary scripts to the parser and compiler, and
// runs what compiles against a fixed message: neither may panic or hang,
// and a compile failure must be a *CompileError with a line.
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/differential/scripts/*.sieve")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("text:\n.\n"))
	f.Add([]byte(`require "variables"; set "a" "${b}${"; if string :matches "${a}" "*?\\*" {}`))
	// a plain message and a multipart one (replace and enclose change
	// parts of it inside foreverypart)
	msgs := []Message{NewMessage([]byte(testMsg)), NewMessage([]byte(multipartMsg))}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Compile("fuzz", src, Options{MaxNestingDepth: 16}, func(name string, global bool) ([]byte, error) {
			return []byte("keep;"), nil
		})
		if err != nil {
			ce, ok := err.(*CompileError)
			if !ok || len(ce.Errors) == 0 || ce.Errors[0].Line < 1 {
				t.Fatalf("bad compile error %#v", err)
			}
			return
		}
		for _, msg := range msgs {
			env := &Env{Msg: msg, Now: time.Unix(0, 0).UTC(), Envelope: Envelope{From: "a@b.c", To: "d+e@f.g"}}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			r, _ := s.Execute(ctx, env)
			cancel()
			if r == nil {
				t.Fatal("nil result")
			}
		}
	})
}
