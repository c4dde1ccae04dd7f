package app_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"barid/internal/app"
	"barid/internal/lmtp"
	"barid/internal/store"
	"barid/internal/testkit"
)

// quotaUsage returns the kept usage of acct and a recount.
func quotaUsage(t *testing.T, st store.Store, acct *store.Account) (kept, count store.QuotaUsage) {
	t.Helper()
	ctx := context.Background()
	q, err := st.(store.Quotas).Quota(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	mbs, err := st.Mailboxes(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, mb := range mbs {
		_, uids, err := st.MessageUIDs(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.FetchMessages(ctx, mb.ID, uids, store.FieldSize, func(m *store.Message) error {
			count.Storage += m.Size
			count.Messages++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return q.Usage, count
}

// Quota exhaustion through LMTP under concurrency: several LMTP clients
// deliver to an account with a [quota] messages default; exactly the
// limit is stored, every other recipient gets 552 5.2.2 (RFC 3463
// X.2.2 mailbox full), and the usage equals a recount. With
// quota_tempfail the answer is 452 4.2.2, and "barid deliver" (through
// the server) gets the same refusal.
func TestQuotaLMTPConcurrent(t *testing.T) {
	for _, temp := range []bool{false, true} {
		t.Run(fmt.Sprintf("tempfail=%v", temp), func(t *testing.T) {
			cfg := lmtpTestConfig(t, t.TempDir())
			cfg.Quota.Messages = 6
			cfg.LMTP.QuotaTempFail = temp
			s := startLMTPApp(t, cfg)
			st := s.app.Data().Store
			acct := lmtpAddUser(t, st, "alice@example.org", "pw")
			wantCode, wantEnh := 552, smtp.EnhancedCode{5, 2, 2}
			if temp {
				wantCode, wantEnh = 452, smtp.EnhancedCode{4, 2, 2}
			}
			const clients, each = 4, 4
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, refused := 0, 0
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					conn, err := net.Dial("tcp", s.addrs["lmtp"])
					if err != nil {
						t.Error(err)
						return
					}
					cl := smtp.NewClientLMTP(conn)
					defer cl.Close()
					for j := range each {
						err := cl.SendMail("sender@example.net", []string{"alice@example.org"},
							strings.NewReader(fmt.Sprintf("Subject: m%d.%d\r\n\r\nbody\r\n", i, j)))
						var se *smtp.SMTPError
						mu.Lock()
						switch {
						case err == nil:
							ok++
						case errors.As(err, &se) && se.Code == wantCode && se.EnhancedCode == wantEnh:
							refused++
						default:
							t.Errorf("SendMail: %v", err)
						}
						mu.Unlock()
						cl.Reset()
					}
				}()
			}
			wg.Wait()
			if ok != 6 || refused != clients*each-6 {
				t.Fatalf("%d delivered, %d refused; want 6 and %d", ok, refused, clients*each-6)
			}
			kept, count := quotaUsage(t, st, acct)
			if kept != count || count.Messages != 6 {
				t.Fatalf("usage %+v, recount %+v", kept, count)
			}
			c := s.cfg
			_, err := app.Deliver(context.Background(), &c, testkit.Logger(), app.DeliverRequest{
				User: "alice@example.org", Message: strings.NewReader("Subject: x\n\nbody\n"),
			})
			if st := lmtp.Status(err, temp); err == nil || st.Code != wantCode || st.EnhancedCode != wantEnh {
				t.Fatalf("barid deliver over quota: %v (%v)", err, st)
			}
			if kept2, _ := quotaUsage(t, st, acct); kept2 != kept {
				t.Fatalf("usage changed by a refused delivery: %+v", kept2)
			}
		})
	}
}
