package e2e

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"barid/internal/blob/s3/s3test"
)

// TestS3KillSafety: barid with its blobs in S3 (every message, as
// inline_max_bytes is 0; some over one 5 MiB part, so streamed in a
// multipart upload and copied into place) is killed with SIGKILL while
// three sessions APPEND. After a restart every acknowledged APPEND is
// there with its bytes (Commit returned only once the object store had
// the whole object), and "barid deliver --blobs" stores on the same
// bucket. The start-up sweep of the restarted node keeps sweep_grace
// (a shared store), so it reports no row with missing bytes.
func TestS3KillSafety(t *testing.T) {
	t.Parallel()
	url := s3test.URL(t) + "&part_size=5242880"
	bin := baridBinary(t)
	data := t.TempDir()
	conf := filepath.Join(t.TempDir(), "barid.toml")
	if err := os.WriteFile(conf, []byte("[storage]\ninline_max_bytes = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const user, pass = "s3kill@example.org", "kill-nine"
	addUserCLI(t, bin, data, user, pass, "--config", conf, "--blobs", url)

	var (
		mu    sync.Mutex
		acked = map[uint32][]byte{}
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	p := startProc(t, bin, data, "--config", conf, "--blobs", url)
	var wg sync.WaitGroup
	var armed sync.WaitGroup
	const appenders = 3
	armed.Add(appenders * 2)
	for a := range appenders {
		who := fmt.Sprintf("a%d", a)
		r := rand.New(rand.NewPCG(seed, uint64(a)))
		wg.Go(func() {
			left := 2
			defer func() {
				for ; left > 0; left-- {
					armed.Done()
				}
			}()
			c, err := dial(p.addr, who)
			if err != nil {
				t.Errorf("%s: %v", who, err)
				return
			}
			defer c.close()
			c.timeout = time.Minute
			if err := c.login(user, pass); err != nil {
				t.Errorf("%s: %v", who, err)
				return
			}
			for n := 0; ; n++ {
				body := durableBody(who, n, r)
				if n%3 == 1 { // over one part: a multipart upload
					big := strings.Repeat(fmt.Sprintf("%s %d padding line to pass one part\r\n", who, n), 5<<20/40+1000)
					body = append(body, big...)
				}
				u, _, err := c.appendMsg("INBOX", "", string(body))
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked[u] = body
				mu.Unlock()
				if left > 0 {
					left--
					armed.Done()
				}
			}
		})
	}
	armed.Wait()
	time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
	p.kill()
	wg.Wait()
	mu.Lock()
	t.Logf("SIGKILL after %d acknowledged APPENDs", len(acked))
	mu.Unlock()

	// Deliver one more through the CLI on the same bucket.
	extra := "From: cli@example.org\r\nSubject: deliver on S3\r\n\r\nhello\r\n"
	cmd := exec.Command(bin, "deliver", "--data", data, "--config", conf, "--blobs", url, user)
	cmd.Stdin = strings.NewReader(extra)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("barid deliver: %v\n%s", err, out)
	}

	p = startProc(t, bin, data, "--config", conf, "--blobs", url)
	defer p.stop()
	c, err := dial(p.addr, "check")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.timeout = time.Minute
	if err := c.login(user, pass); err != nil {
		t.Fatal(err)
	}
	if _, err := c.selectBox("INBOX", false); err != nil {
		t.Fatal(err)
	}
	present, err := c.fetchBodies()
	if err != nil {
		t.Fatal(err)
	}
	for u, b := range acked {
		got, ok := present[u]
		if !ok {
			t.Errorf("acknowledged UID %d (%d bytes) is missing", u, len(b))
		} else if sha256.Sum256(got) != sha256.Sum256(b) {
			t.Errorf("UID %d holds %d bytes that differ from the %d acknowledged", u, len(got), len(b))
		}
	}
	delivered := false
	for _, b := range present {
		if strings.HasSuffix(string(b), "Subject: deliver on S3\r\n\r\nhello\r\n") {
			delivered = true
		}
	}
	if !delivered {
		t.Error("the message barid deliver stored is missing")
	}
	if strings.Contains(p.log.String(), "rows_with_missing_bytes") || strings.Contains(p.log.String(), "message bytes missing") {
		t.Errorf("the start-up sweep reports missing bytes:\n%s", p.log)
	}
	t.Logf("%d messages present, %d acknowledged before the kill", len(present), len(acked))
}
