package server_test

import (
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// drain sends a command and reads to its tagged reply without keeping
// anything, so the process heap reflects the server's needs.
func (c *rawConn) drain(tag, cmd string) {
	c.t.Helper()
	c.send(tag + " " + cmd + "\r\n")
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Minute))
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if n, ok := literalSuffix(strings.TrimRight(l, "\r\n")); ok {
			io.CopyN(io.Discard, c.br, int64(n))
			continue
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				c.t.Fatalf("%s: %s", cmd, l)
			}
			return
		}
	}
}

// benchPeakHeap reports the peak live heap (sampled every 2 ms) while
// answering cmd on a mailbox of n messages: memory should stay flat as
// the mailbox grows (docs/large-mailboxes.md).
func benchPeakHeap(b *testing.B, n int, cmd string) {
	ts := startServer(b)
	acct := ts.addUser("big", "pw")
	populateBig(b, ts, acct, n)
	c := ts.dial()
	c.t = b
	c.login("big", "pw")
	c.expectOK("s", "SELECT INBOX")
	// One run first: it loads what the mailbox keeps in memory between
	// commands (the flag index, 28 bytes a message, shared by every
	// session), which base-heap-MiB shows. peak-heap-MiB is what one
	// command needs above that: the figure that must stay flat.
	c.drain("w", cmd)
	// With the default GOGC the heap may hold up to its live size again
	// in garbage, so a larger resident index would allow more garbage and
	// blur the comparison; at GOGC=10 HeapAlloc follows what a command
	// keeps alive.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.drain("f", cmd)
	}
	b.StopTimer()
	close(stop)
	<-done
	growth := int64(peak.Load()) - int64(base.HeapAlloc)
	b.ReportMetric(float64(max(growth, 0))/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base.HeapAlloc)/(1<<20), "base-heap-MiB")
}

func BenchmarkHeapFetchAll10k(b *testing.B) {
	benchPeakHeap(b, 10000, "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
}
func BenchmarkHeapFetchAll100k(b *testing.B) {
	benchPeakHeap(b, 100000, "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
}
func BenchmarkHeapSearchFrom10k(b *testing.B)  { benchPeakHeap(b, 10000, "SEARCH FROM user42") }
func BenchmarkHeapSearchFrom100k(b *testing.B) { benchPeakHeap(b, 100000, "SEARCH FROM user42") }
