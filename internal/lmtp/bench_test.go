package lmtp_test

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkLMTPDeliver measures durable LMTP deliveries (each op is one
// transaction with one recipient, answered 250 after the blob fsync and
// the SQLite commit) at several client counts and message sizes. The
// cross-server figures (against Dovecot) come from scripts/lmtp-bench.
func BenchmarkLMTPDeliver(b *testing.B) {
	for _, size := range []int{10 << 10, 1 << 20} {
		for _, conc := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("size=%dK/clients=%d", size>>10, conc), func(b *testing.B) {
				benchDeliver(b, size, conc)
			})
		}
	}
}

func benchDeliver(b *testing.B, size, conc int) {
	e := newEnv(b)
	const users = 10
	for u := 1; u <= users; u++ {
		e.addUser(fmt.Sprintf("user%d", u))
	}
	hdr := "From: bench@example.net\r\nSubject: bench\r\n\r\n"
	line := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+.\r\n"
	body := hdr + strings.Repeat(line, (size-len(hdr))/len(line)+1)
	body = body[:size-2] + "\r\n"
	var next atomic.Int64
	b.SetBytes(int64(size))
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		c := e.dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				// A distinct first line so blobs do not deduplicate.
				msg := io.MultiReader(strings.NewReader(fmt.Sprintf("X-Seq: %d\r\n", n)), strings.NewReader(body))
				if err := c.SendMail("bench@example.net", []string{fmt.Sprintf("user%d@localhost", 1+n%users)}, msg); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkLMTPFanout measures the shared-blob choice: one message to
// 10 recipients in one transaction (one spool, one blob fsync, 10
// concurrent commits that the store group-commits), against the same
// 10 copies as 10 single-recipient transactions (one blob each, which
// is the least per-recipient blobs with their own Delivered-To would
// cost). Sizes 10 KB and 1 MB; one client.
func BenchmarkLMTPFanout(b *testing.B) {
	const rcpts = 10
	for _, size := range []int{10 << 10, 1 << 20} {
		for _, mode := range []string{"shared-blob", "per-recipient"} {
			b.Run(fmt.Sprintf("size=%dK/%s", size>>10, mode), func(b *testing.B) {
				e := newEnv(b)
				var to []string
				for u := 1; u <= rcpts; u++ {
					e.addUser(fmt.Sprintf("user%d", u))
					to = append(to, fmt.Sprintf("user%d@localhost", u))
				}
				body := "Subject: fanout\r\n\r\n" + strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+.\r\n", size/69)
				c := e.dial()
				b.SetBytes(int64(len(body)) * rcpts)
				b.ResetTimer()
				for i := range b.N {
					msg := fmt.Sprintf("X-Seq: %d\r\n", i) + body
					if mode == "shared-blob" {
						if err := c.SendMail("s@x", to, strings.NewReader(msg)); err != nil {
							b.Fatal(err)
						}
						continue
					}
					for _, r := range to {
						if err := c.SendMail("s@x", []string{r}, strings.NewReader(msg)); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.N*rcpts)/b.Elapsed().Seconds(), "copies/s")
			})
		}
	}
}
