package lmtp

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// goid is the id of the calling goroutine (from its stack header).
func goid(t *testing.T) uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := bytes.Fields(buf)
	if len(f) < 2 {
		t.Fatalf("stack header %q", buf)
	}
	id, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		t.Fatalf("stack header %q: %v", buf, err)
	}
	return id
}

// TestDeliveryWorker checks the session's delivery worker: deliveries
// run on one goroutine that is not the caller's, one after another; a
// panic comes back to the caller with its value and the worker goes on;
// after Logout deliveries run on the caller's goroutine.
func TestDeliveryWorker(t *testing.T) {
	s := &session{}
	me := goid(t)
	var ids []uint64
	for range 3 {
		s.onWorker(func() { ids = append(ids, goid(t)) })
	}
	if ids[0] == me || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Fatalf("caller %d, deliveries on %v: want one worker goroutine, not the caller's", me, ids)
	}

	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the delivery's panic \"boom\"", p)
			}
		}()
		s.onWorker(func() { panic("boom") })
		t.Error("onWorker returned after the delivery panicked")
	}()
	var after uint64
	s.onWorker(func() { after = goid(t) })
	if after != ids[0] {
		t.Errorf("after the panic the delivery ran on %d, want the worker %d", after, ids[0])
	}

	if err := s.Logout(); err != nil {
		t.Fatal(err)
	}
	s.Logout() //nolint:errcheck // twice is harmless
	var inline uint64
	s.onWorker(func() { inline = goid(t) })
	if inline != me {
		t.Errorf("after Logout the delivery ran on %d, want the caller %d", inline, me)
	}
}

// TestDeliveryWorkerLogoutDuring calls Logout while a delivery runs
// (go-smtp's Server.Close does): the delivery finishes and its caller
// returns; under -race this also checks the session's fields.
func TestDeliveryWorkerLogoutDuring(t *testing.T) {
	for range 50 {
		s := &session{}
		started, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		ran := false
		go func() {
			defer wg.Done()
			s.onWorker(func() { close(started); <-release; ran = true })
		}()
		<-started
		s.Logout() //nolint:errcheck
		close(release)
		wg.Wait()
		if !ran {
			t.Fatal("the delivery did not finish")
		}
		s.onWorker(func() {}) // after Logout: inline, no deadlock
	}
}
