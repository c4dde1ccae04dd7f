package filter_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"barid/internal/bench"
	"barid/internal/testkit"
)

// rules50 is the 50-rule script of the delivery benchmarks
// (bench.SieveRules50, which "barid bench sieve" also installs on barid
// and on Dovecot with Pigeonhole): header, address and size tests that
// mostly do not match, then flags and the implicit keep.
func rules50() string { return bench.SieveRules50("bench") }

// rules50Last is rules50 whose last rule (a flag) matches the subject
// given: "bench" in the benchmark's messages, anything else to leave
// the message as without a script (no flag: the same store work).
func rules50Last(subject string) string { return bench.SieveRules50(subject) }

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLMTPSieve measures LMTP deliveries of 10 KB messages (4
// clients, one recipient each, durable 250) with no script and with the
// 50-rule script active: the cost of running Sieve at delivery.
// "50-rules" ends by flagging every message ($Bench), which the store
// then records as a keyword; "50-rules-noflag" is the same script whose
// last rule does not match, so the message is stored exactly as without
// a script and the difference is Sieve's alone. "50-rules-mix" sends
// the mix of "barid bench sieve": one message in eight is filed by a
// topic rule (fileinto :create "Topics/t3") and one in eight by a list
// rule ("Lists/l4"), the others are flagged in INBOX; "no-script-mix"
// delivers the same messages without a script.
func BenchmarkLMTPSieve(b *testing.B) {
	for _, mode := range []string{"no-script", "50-rules", "50-rules-noflag", "no-script-mix", "50-rules-mix"} {
		b.Run(mode, func(b *testing.B) {
			s := startSieveB(b)
			const users = 4
			for u := range users {
				name := fmt.Sprintf("user%d@example.org", u)
				s.AddUser(name, "pw")
				switch mode {
				case "50-rules", "50-rules-mix":
					s.putScript(name, "pw", "rules", rules50())
				case "50-rules-noflag":
					s.putScript(name, "pw", "rules", rules50Last("no such subject"))
				}
			}
			text := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+.\r\n", 150)
			body := "From: bench@example.net\r\nTo: user@example.org\r\nSubject: bench\r\n\r\n" + text
			mix := strings.HasSuffix(mode, "-mix")
			message := func(n int64) string {
				switch {
				case mix && n%8 == 0:
					return "From: bench@example.net\r\nTo: user@example.org\r\nSubject: topic3 news\r\n\r\n" + text
				case mix && n%8 == 4:
					return "From: news@list4.example.org\r\nTo: user@example.org\r\nSubject: weekly digest\r\n\r\n" + text
				}
				return body
			}
			var next atomic.Int64
			b.SetBytes(int64(len(body)))
			cpu0 := processCPU()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range 4 {
				c := testkit.DialSMTP(b, s.lmtp, false)
				c.Expect("LHLO bench", "250")
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						c.Send("MAIL FROM:<bench@example.net>\r\n")
						c.Reply()
						c.Send(fmt.Sprintf("RCPT TO:<user%d@example.org>\r\n", w))
						c.Reply()
						c.Send("DATA\r\n")
						c.Reply()
						c.Send(fmt.Sprintf("X-Seq: %d\r\n", n) + message(n) + ".\r\n")
						if r := c.Reply(); !strings.HasPrefix(r[0], "250") {
							b.Errorf("delivery: %q", r)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			// CPU time of the whole process (server, client and
			// background work) per delivery: steadier than msg/s on a
			// shared machine, where wall time follows the load.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
		})
	}
}
