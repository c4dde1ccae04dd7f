package app_test

import (
	"fmt"
	"strings"
	"testing"

	"barid/internal/config"
	"barid/internal/store/sqlite"
	"barid/internal/testkit"
)

// TestWALSyncDefault checks who makes an APPEND durable on the SQLite
// store: with the default configuration the syncer's fdatasync
// ([storage] wal_sync = "syncer", internal/store/sqlite/durable.go), the
// writer never running a COMMIT with synchronous=FULL; with wal_sync =
// "commit" the writer's FULL COMMIT and no syncer. The counters are
// exported as barid_store_wal_syncs_total and
// barid_store_full_commits_total, checked here against the store's own.
func TestWALSyncDefault(t *testing.T) {
	// The default itself, whatever mode CI runs the kit's servers in.
	t.Setenv(testkit.WALSyncEnvVar, "")
	t.Setenv(testkit.MetadataEnvVar, "")
	for _, mode := range []string{"", "commit", "syncer"} {
		name := mode
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			s := testkit.Start(t, func(c *config.Config) {
				if mode != "" {
					c.Storage.WALSync = mode
				}
				c.Metrics.Listen = "127.0.0.1:0"
			})
			st, ok := s.App.Data().Store.(*sqlite.Store)
			if !ok {
				t.Fatalf("store is %T, want the SQLite store", s.App.Data().Store)
			}
			s.AddUser("alice", "pw")
			maddr := s.App.Addrs()["metrics"]
			before := st.Stats()
			c := s.Dial()
			c.Login("alice", "pw")
			msg := testkit.Message("walsync")
			c.Send(fmt.Sprintf("a APPEND INBOX {%d+}\r\n%s\r\n", len(msg), msg))
			if l := c.Until("a"); !strings.HasPrefix(l[len(l)-1], "a OK") {
				t.Fatalf("APPEND: %q", l)
			}
			after := st.Stats()
			syncs, full := after.WALSyncs-before.WALSyncs, after.FullCommits-before.FullCommits
			if mode == "commit" {
				if full < 1 || after.WALSyncs != 0 {
					t.Errorf("wal_sync = commit: APPEND made %d FULL COMMITs and the syncer ran %d fdatasyncs in all; want >= 1 and 0", full, after.WALSyncs)
				}
			} else if syncs < 1 || after.FullCommits != 0 {
				t.Errorf("wal_sync = %q: APPEND made %d syncer fdatasyncs and the writer ran %d FULL COMMITs in all; want >= 1 and 0", mode, syncs, after.FullCommits)
			}
			m := scrape(t, maddr)
			now := st.Stats()
			if got := m["barid_store_wal_syncs_total"]; got < float64(after.WALSyncs) || got > float64(now.WALSyncs) {
				t.Errorf("barid_store_wal_syncs_total = %v, want the store's %d..%d", got, after.WALSyncs, now.WALSyncs)
			}
			if got := m["barid_store_full_commits_total"]; got < float64(after.FullCommits) || got > float64(now.FullCommits) {
				t.Errorf("barid_store_full_commits_total = %v, want the store's %d..%d", got, after.FullCommits, now.FullCommits)
			}
			c.ExpectOK("z", "LOGOUT")
		})
	}
}
