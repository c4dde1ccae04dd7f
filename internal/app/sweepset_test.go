package app

import (
	"fmt"
	"testing"
)

func TestBlobSet(t *testing.T) {
	var s blobSet
	for i := range 1000 {
		s.add(fmt.Sprintf("blob-%d", i%700)) // duplicates too
	}
	s.seal()
	if len(s.keys) != 700 {
		t.Fatalf("%d keys after seal, want 700 (duplicates dropped)", len(s.keys))
	}
	for i := range 700 {
		id := fmt.Sprintf("blob-%d", i)
		if !s.has(id) {
			t.Fatalf("%s not in the set", id)
		}
		if s.marked(id) {
			t.Fatalf("%s marked before mark", id)
		}
		if i%3 == 0 {
			s.mark(id)
		}
	}
	s.mark("not-there") // ignored
	for i := range 700 {
		id := fmt.Sprintf("blob-%d", i)
		if got, want := s.marked(id), i%3 == 0; got != want {
			t.Fatalf("marked(%s) = %v, want %v", id, got, want)
		}
	}
	for _, id := range []string{"blob-700", "blob--1", "", "not-there"} {
		if s.has(id) || s.marked(id) {
			t.Fatalf("%q reported in the set", id)
		}
	}
}
