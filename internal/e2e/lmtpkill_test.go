package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	lmtpListeningRE = regexp.MustCompile(`msg=listening service=lmtp addr=(\S+)`)
	messageIDRE     = regexp.MustCompile(`(?m)^Message-ID: (<[^>]+>)\r$`)
)

// lmtpConn is a minimal LMTP client (RFC 2033) for one recipient.
type lmtpConn struct {
	nc net.Conn
	br *bufio.Reader
}

func dialLMTP(addr string) (*lmtpConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &lmtpConn{nc: nc, br: bufio.NewReader(nc)}
	if err := c.expect("220"); err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.cmd("LHLO e2e.example\r\n", "250"); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// expect reads one (possibly multi-line) reply and checks its code.
func (c *lmtpConn) expect(code string) error {
	c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(l, code) {
			return fmt.Errorf("LMTP: want %s, got %q", code, l)
		}
		if len(l) < 4 || l[3] != '-' {
			return nil
		}
	}
}

func (c *lmtpConn) cmd(s, code string) error {
	if _, err := io.WriteString(c.nc, s); err != nil {
		return err
	}
	return c.expect(code)
}

// deliver sends one message (which must not need dot-stuffing) and
// returns nil only on the recipient's 250 after the final dot.
func (c *lmtpConn) deliver(rcpt string, body []byte) error {
	if err := c.cmd("MAIL FROM:<sender@example.net>\r\n", "250"); err != nil {
		return err
	}
	if err := c.cmd("RCPT TO:<"+rcpt+">\r\n", "250"); err != nil {
		return err
	}
	if err := c.cmd("DATA\r\n", "354"); err != nil {
		return err
	}
	if _, err := c.nc.Write(append(body, ".\r\n"...)); err != nil {
		return err
	}
	return c.expect("250")
}

// TestLMTPKill9 kills barid with SIGKILL while eight LMTP sessions
// deliver concurrently, most messages under [storage] inline_max_bytes
// (kept inside barid.db, durable with the group-committed transaction)
// and some over it (blob files), over several restarts. Every delivery
// that got its 250 (RFC 2033 §4.2) must be there with its bytes intact
// (after the trace headers barid prepends); a message never acknowledged
// may be there only if it was in flight at the kill.
func TestLMTPKill9(t *testing.T) {
	t.Parallel()
	bin := baridBinary(t)
	data := t.TempDir()
	const user, pass = "lmtpkill@example.org", "kill-nine"
	addUserCLI(t, bin, data, user, pass)

	var (
		mu       sync.Mutex
		acked    = map[string][]byte{} // Message-ID -> body, acknowledged
		inFlight = map[string]bool{}   // Message-IDs sent, not acknowledged
		large    int                   // acknowledged over inline_max_bytes
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	const cycles, senders = 3, 8
	for cycle := 0; cycle <= cycles; cycle++ {
		p := startProc(t, bin, data, "--lmtp", "127.0.0.1:0")
		// The IMAP listening line, which startProc waits for, may be
		// logged before the LMTP one.
		m := p.waitLog(lmtpListeningRE, 10*time.Second)
		if m == nil {
			t.Fatalf("no LMTP listener:\n%s", p.log)
		}
		lmtpAddr := m[1]

		c, err := dial(p.addr, "check")
		if err != nil {
			t.Fatal(err)
		}
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
		c.close()
		byID := map[string][]byte{}
		for u, b := range present {
			m := messageIDRE.FindSubmatch(b)
			if m == nil {
				t.Errorf("restart %d: UID %d has no Message-ID", cycle, u)
				continue
			}
			id := string(m[1])
			if _, dup := byID[id]; dup {
				t.Errorf("restart %d: %s delivered twice", cycle, id)
			}
			byID[id] = b
			if _, ok := acked[id]; !ok && !inFlight[id] {
				t.Errorf("restart %d: UID %d holds %s, which no delivery sent", cycle, u, id)
			}
		}
		lost := 0
		for id, body := range acked {
			got, ok := byID[id]
			switch {
			case !ok:
				lost++
				if lost <= 5 {
					t.Errorf("restart %d: acknowledged %s is missing", cycle, id)
				}
			case !bytes.HasSuffix(got, body) || !bytes.HasPrefix(got, []byte("Return-Path: ")):
				t.Errorf("restart %d: %s: stored %d bytes are not the trace headers plus the %d acknowledged", cycle, id, len(got), len(body))
			}
		}
		t.Logf("restart %d: %d messages present, %d acknowledged before (%d over inline_max_bytes; all there: %v)",
			cycle, len(present), len(acked), large, lost == 0)
		if t.Failed() || cycle == cycles {
			p.stop()
			break
		}

		var wg sync.WaitGroup
		var armedWG sync.WaitGroup
		armedWG.Add(senders * 3)
		for s := range senders {
			who := fmt.Sprintf("c%ds%d", cycle, s)
			sr := rand.New(rand.NewPCG(seed, uint64(100*cycle+s+2)))
			wg.Go(func() {
				armed := 0
				defer func() {
					for ; armed < 3; armed++ {
						armedWG.Done()
					}
				}()
				lc, err := dialLMTP(lmtpAddr)
				if err != nil {
					t.Errorf("%s: %v", who, err)
					return
				}
				defer lc.nc.Close()
				for n := 0; ; n++ {
					body := durableBody(who, n, sr)
					if s == 0 && n%2 == 1 {
						// Over the 64 KiB default: a blob file.
						for i := 0; len(body) <= 64<<10; i++ {
							body = fmt.Appendf(body, "padding line %d: %016x%016x\r\n", i, sr.Uint64(), sr.Uint64())
						}
					}
					id := string(messageIDRE.FindSubmatch(body)[1])
					mu.Lock()
					inFlight[id] = true
					mu.Unlock()
					if err := lc.deliver(user, body); err != nil {
						return // the server is gone
					}
					mu.Lock()
					delete(inFlight, id)
					acked[id] = body
					if len(body) > 64<<10 {
						large++
					}
					mu.Unlock()
					if armed < 3 {
						armed++
						armedWG.Done()
					}
				}
			})
		}
		armedWG.Wait()
		time.Sleep(time.Duration(50+r.IntN(400)) * time.Millisecond)
		mu.Lock()
		n, fl := len(acked), len(inFlight)
		mu.Unlock()
		p.kill()
		wg.Wait()
		t.Logf("cycle %d: SIGKILL with %d acknowledged so far and ~%d deliveries in flight", cycle, n, fl)
	}
	if len(acked) == 0 {
		t.Fatal("no delivery was acknowledged")
	}
}
