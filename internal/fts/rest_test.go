package fts

import (
	"testing"
	"time"
)

// TestRestWhileBusy checks the pacing arithmetic: after a batch of d the
// indexer rests d*(1-duty)/duty, with BusyDuty (DefaultBusyDuty if 0)
// while Busy reports arriving messages.
func TestRestWhileBusy(t *testing.T) {
	busy := false
	ix := &Indexer{Busy: func() bool { return busy }}
	d := 100 * time.Millisecond
	if got, want := ix.rest(d, 0.25), 300*time.Millisecond; got != want {
		t.Errorf("idle rest = %v, want %v", got, want)
	}
	busy = true
	if got, want := ix.rest(d, 0.25), 1900*time.Millisecond; got != want {
		t.Errorf("busy rest (default busy duty) = %v, want %v", got, want)
	}
	ix.BusyDuty = 0.5
	if got, want := ix.rest(d, 0.25), 100*time.Millisecond; got != want {
		t.Errorf("busy rest at 0.5 = %v, want %v", got, want)
	}
	ix.Busy = nil
	if got, want := ix.rest(d, 1), time.Duration(0); got != want {
		t.Errorf("unpaced rest = %v, want %v", got, want)
	}
}
