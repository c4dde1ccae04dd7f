package oracle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"barid/internal/bench"
	"barid/internal/config"
	"barid/internal/store"
	"barid/internal/testkit"
)

// benchRules50 is the 50-rule script of internal/filter's
// BenchmarkLMTPSieve and of "barid bench sieve", in a form both servers
// run.
func benchRules50() string { return bench.SieveRules50("bench") }

// BenchmarkSieveLMTPvsDovecot delivers 10 KB messages over LMTP (4
// clients, one recipient each) to barid and to Dovecot with Pigeonhole
// in the same run, each without a script and with the 50-rule script.
func BenchmarkSieveLMTPvsDovecot(b *testing.B) {
	if _, err := os.Stat("/usr/lib/dovecot/modules/lib90_sieve_plugin.so"); err != nil {
		b.Skip("dovecot-sieve is not installed")
	}
	const clients = 4
	var users []string
	for i := range clients {
		users = append(users, fmt.Sprintf("plain%d@example.org", i), fmt.Sprintf("rules%d@example.org", i))
	}
	d := testkit.StartDovecot(b, testkit.DovecotOptions{Users: users, LMTP: true, Extra: `
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
`})
	s := testkit.Start(b, func(c *config.Config) { c.LMTP.Listen = "127.0.0.1:0" })
	lmtpAddr := s.App.Addrs()["lmtp"]
	fi, _ := os.Stat(filepath.Join(d.Dir, "mail"))
	own := reflectStat(fi.Sys())
	script := benchRules50()
	for _, u := range users {
		acct := s.AddUser(u, "pw")
		if strings.HasPrefix(u, "rules") {
			ss := s.Store().(store.SieveScripts)
			if err := ss.PutSieveScript(b.Context(), acct.ID, "r", []byte(script), 0); err != nil {
				b.Fatal(err)
			}
			if err := ss.SetActiveSieveScript(b.Context(), acct.ID, "r"); err != nil {
				b.Fatal(err)
			}
			home := filepath.Join(d.Dir, "mail", strings.Split(u, "@")[0])
			os.MkdirAll(home, 0o755)
			os.WriteFile(filepath.Join(home, ".dovecot.sieve"), []byte(script), 0o644)
			os.Chown(home, own[0], own[1])
			os.Chown(filepath.Join(home, ".dovecot.sieve"), own[0], own[1])
		}
	}
	body := "From: bench@example.net\r\nTo: user@example.org\r\nSubject: bench\r\n\r\n" +
		strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+.\r\n", 150)
	for _, srv := range []struct{ name, addr string }{{"barid", lmtpAddr}, {"dovecot", d.LMTPAddr}} {
		for _, kind := range []string{"plain", "rules"} {
			b.Run(srv.name+"/"+map[string]string{"plain": "no-script", "rules": "50-rules"}[kind], func(b *testing.B) {
				var next atomic.Int64
				b.SetBytes(int64(len(body)))
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := range clients {
					c := testkit.DialSMTP(b, srv.addr, false)
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
							c.Send(fmt.Sprintf("RCPT TO:<%s%d@example.org>\r\n", kind, w))
							c.Reply()
							c.Send("DATA\r\n")
							c.Reply()
							c.Send(fmt.Sprintf("X-Seq: %d\r\n", n) + body + ".\r\n")
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
			})
		}
	}
}
