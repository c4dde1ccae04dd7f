package server_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/store"
)

// BenchmarkACLQuotaMix measures what RFC 4314 access control and RFC
// 9208 quota enforcement cost on a mix of everyday commands: two
// servers with the same data, one with both on (the defaults, with a
// storage limit so every APPEND is checked before the "+" and in the
// store's transaction) and one with [sharing] acl = false and [quota]
// enforce = false; each has one logged-in connection on 200 messages,
// and another user shares a folder with it (ignored with ACLs off,
// where the user has an own folder of the same name instead, so that
// LIST answers the same lines on both sides).
// The mix: SELECT, FETCH, UID SEARCH, two STOREs, STATUS, LIST, APPEND,
// and STORE and EXPUNGE of the appended message (so the mailbox stays
// the same size). The two sides take turns, so the load of a shared
// machine hits both alike. It reports the median time of one mix on
// each side (off-µs/mix, on-µs/mix), their ratio, and the median LIST
// alone on each side (list-off-µs, list-on-µs); usage is kept on
// both sides (the triggers' cost is BenchmarkAppendQuota's, in
// internal/store/sqlite). docs/benchmarks.md quotes the figures.
func BenchmarkACLQuotaMix(b *testing.B) {
	type side struct {
		c     *rawConn
		times []time.Duration
		list  []time.Duration // LIST alone: where the shared namespaces show
	}
	start := func(on bool) *side {
		ts := startServer(b, func(c *config.Config) {
			c.Quota.Storage = 1 << 40
			c.Sharing.ACL = on
			c.Quota.Enforce = on
		})
		acct := ts.addUser("mix", "pw")
		populateBig(b, ts, acct, 200)
		owner := ts.addUser("owner", "pw")
		ctx := context.Background()
		st := ts.app.Data().Store
		team, _, err := st.CreateMailbox(ctx, owner.ID, "Team", "")
		if err != nil {
			b.Fatal(err)
		}
		if err := st.(store.ACLStore).SetACL(ctx, team.ID, "mix", "lrs"); err != nil {
			b.Fatal(err)
		}
		if !on {
			// With ACLs off "Other Users/…" is an ordinary personal
			// name: give the user the folder under the name it has
			// on the other side, so that both LISTs answer the same
			// lines and the difference is the access control's.
			if _, _, err := st.CreateMailbox(ctx, acct.ID, "Other Users/owner/Team", ""); err != nil {
				b.Fatal(err)
			}
		}
		c := ts.dial()
		c.t = b
		c.login("mix", "pw")
		return &side{c: c}
	}
	msg := "Subject: mix\r\n\r\nbody\r\n"
	mix := func(s *side) {
		t0 := time.Now()
		s.c.expectOK("s", "SELECT INBOX")
		s.c.expectOK("b", "FETCH 1:20 (UID FLAGS)")
		s.c.expectOK("c", "UID SEARCH UNSEEN")
		s.c.expectOK("d", "STORE 5 +FLAGS (\\Flagged)")
		s.c.expectOK("e", "STORE 5 -FLAGS (\\Flagged)")
		s.c.expectOK("f", `STATUS "Sent" (MESSAGES UIDNEXT)`)
		tl := time.Now()
		s.c.expectOK("l", `LIST "" "*"`)
		s.list = append(s.list, time.Since(tl))
		s.c.expectOK("a", "APPEND INBOX {"+strconv.Itoa(len(msg))+"+}\r\n"+msg)
		s.c.expectOK("x", "STORE 201 +FLAGS.SILENT (\\Deleted)")
		s.c.expectOK("y", "EXPUNGE")
		s.times = append(s.times, time.Since(t0))
	}
	off, on := start(false), start(true)
	for range 20 { // warm both (flag index, record cache, statements)
		mix(off)
		mix(on)
	}
	off.times, on.times, off.list, on.list = nil, nil, nil, nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			mix(off)
			mix(on)
		} else {
			mix(on)
			mix(off)
		}
	}
	b.StopTimer()
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / 1e3
	}
	mo, mn := median(off.times), median(on.times)
	b.ReportMetric(mo, "off-µs/mix")
	b.ReportMetric(mn, "on-µs/mix")
	b.ReportMetric(mn/mo, "on/off")
	b.ReportMetric(median(off.list), "list-off-µs")
	b.ReportMetric(median(on.list), "list-on-µs")
}
