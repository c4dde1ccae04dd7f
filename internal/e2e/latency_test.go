package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/config"
	"barid/internal/testkit"
)

// TestImaplibAppendNotStalledByDelayedACK guards against the 40 ms
// APPEND stall: imaplib (as shipped, Nagle on) sends a literal and its
// CRLF in two writes, and a server that delays the literal's ACK makes
// the CRLF wait for Linux's 40 ms delayed-ACK timer on every APPEND
// (internal/quickack). The data folder is on /dev/shm when there is one,
// so fsync time does not blur the measurement: without the fix the
// median is over 40 ms, with it about a millisecond.
func TestImaplibAppendNotStalledByDelayedACK(t *testing.T) {
	if testkit.Clustered() {
		// What it measures is one node's socket (the ACK of the
		// client's literal), which two nodes do not change; there an
		// APPEND's time is the S3 upload and the PostgreSQL commit,
		// and a relay sits between client and node.
		t.Skip(testkit.ClusterEnvVar + "=2: the delayed-ACK guard measures one node's socket; it runs in the one-node suites")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: imaplib APPEND latency guard skipped")
	}
	dir := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "barid-latency-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	ts := testkit.StartAt(t, dir, testkit.WithoutTLSListener(), func(c *config.Config) {
		c.Auth.TrustedNetworks = []string{"127.0.0.0/8"}
	})
	ts.AddUser("nagle", "nagle pass")
	host, port, _ := strings.Cut(ts.Addr, ":")
	const count = 50
	out, err := testkit.RunErr(2*time.Minute, ".", py, "testdata/imaplib_append_latency.py", host, port, "nagle", "nagle pass", strconv.Itoa(count))
	if err != nil {
		t.Fatalf("imaplib APPEND run failed: %v\n%s", err, out)
	}
	var times []time.Duration
	for _, f := range strings.Fields(out) {
		s, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("imaplib script printed %q: %v", f, err)
		}
		times = append(times, time.Duration(s*float64(time.Second)))
	}
	if len(times) != count {
		t.Fatalf("imaplib script reported %d APPENDs, want %d:\n%s", len(times), count, out)
	}
	slices.Sort(times)
	median := times[count/2]
	t.Logf("imaplib APPEND of %d small messages: median %v, fastest %v, slowest %v", count, median, times[0], times[count-1])
	const limit = 10 * time.Millisecond
	if median > limit {
		t.Fatalf("imaplib APPEND median %v exceeds %v: the literal's ACK is delayed and imaplib's CRLF waits for the 40 ms delayed-ACK timer (see internal/quickack)", median, limit)
	}
}
