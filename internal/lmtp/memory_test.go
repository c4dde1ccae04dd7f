package lmtp_test

import (
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"barid/internal/store"
)

// bodyReader yields a message of exactly n bytes, CRLF lines, without
// ever holding it: the test's own memory stays flat.
type bodyReader struct {
	n, off int64
	line   []byte
}

func newBody(n int64) *bodyReader {
	line := []byte(strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+.", 1) + "\r\n")
	return &bodyReader{n: n, line: line}
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.off >= b.n {
		return 0, io.EOF
	}
	if rem := b.n - b.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n := 0
	for n < len(p) {
		k := (b.off + int64(n)) % int64(len(b.line))
		n += copy(p[n:], b.line[k:])
	}
	b.off += int64(n)
	return n, nil
}

// heapSampler records the peak of live heap objects while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if v := heapObjects(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load()
}

func vmHWM() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Delivering a 50 MB message over LMTP must not hold it in memory: the
// peak of live heap (client and server are both in this process) stays
// far below the message size. A memory bound, not a speed assertion.
func TestDeliver50MBStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 50 MB delivery")
	}
	const size = 50 << 20
	const bound = 12 << 20
	e := newEnv(t)
	alice := e.addUser("alice")
	c := e.dial()
	runtime.GC()
	base := heapObjects()
	hwm0 := vmHWM()
	h := startHeapSampler()
	if err := c.Mail("big@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("alice@localhost", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	hdr := "From: big@example.net\r\nSubject: fifty megabytes\r\n\r\n"
	if _, err := io.Copy(w, io.MultiReader(strings.NewReader(hdr), newBody(size-int64(len(hdr))))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CloseWithLMTPResponse(); err != nil {
		t.Fatal(err)
	}
	peak := h.Stop()
	grow := int64(peak) - int64(base)
	t.Logf("live heap: base %.1f MB, peak %.1f MB (+%.1f MB) for a %d MB message; VmHWM grew %.1f MB",
		float64(base)/1e6, float64(peak)/1e6, float64(grow)/1e6, size>>20, float64(vmHWM()-hwm0)/1e6)
	if grow > bound {
		t.Errorf("live heap grew by %d bytes delivering %d bytes: the message is being buffered (bound %d)", grow, size, bound)
	}
	// Control: the sampler does see a message held whole.
	h = startHeapSampler()
	held, _ := io.ReadAll(newBody(2 * bound))
	if peak := h.Stop(); int64(peak)-int64(base) < bound {
		t.Errorf("sampler missed a %d-byte buffer (peak %d)", len(held), peak)
	}
	runtime.KeepAlive(held)

	mb, _ := e.st.Mailbox(t.Context(), alice.ID, "INBOX")
	_, uids, _ := e.st.MessageUIDs(t.Context(), mb.ID)
	if len(uids) != 1 {
		t.Fatalf("%d messages", len(uids))
	}
	var stored int64
	err = e.st.FetchMessages(t.Context(), mb.ID, uids, store.FieldBasics, func(m *store.Message) error {
		stored = m.Size
		return nil
	})
	if err != nil || stored < size || stored > size+1024 {
		t.Errorf("stored size %d (%v), want %d plus trace headers", stored, err, size)
	}
}
