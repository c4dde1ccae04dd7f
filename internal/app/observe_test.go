package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/fts"
	"barid/internal/testkit"
)

// scrape reads /metrics at addr into series ("name{a="x",b="y"}", the
// labels sorted, as client_golang writes them) and values.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// series names one series: name and label pairs "k", "v", ...
func series(name string, kv ...string) string {
	if len(kv) == 0 {
		return name
	}
	var pairs []string
	for i := 0; i < len(kv); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", kv[i], kv[i+1]))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

func cmdSeries(proto, cmd, result string) string {
	return series("barid_commands_total", "protocol", proto, "command", cmd, "result", result)
}

// waitMetric polls until series s has value want (gauges move when a
// connection's goroutine finishes, just after the client sees its end).
func waitMetric(t *testing.T, addr, s string, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, ok := scrape(t, addr)[s]
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present %v), want %v", s, got, ok, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMetricsScrape runs a short real session of each protocol against
// a server with [metrics] listen on and checks that the counters moved
// by exactly what the sessions did.
func TestMetricsScrape(t *testing.T) {
	s := testkit.Start(t, testkit.WithPOP3(), func(c *config.Config) {
		c.LMTP.Listen = "127.0.0.1:0"
		c.Metrics.Listen = "127.0.0.1:0"
	})
	s.AddUser("alice", "pw")
	addrs := s.App.Addrs()
	maddr := addrs["metrics"]
	if maddr == "" {
		t.Fatalf("no metrics listener in %v", addrs)
	}
	before := scrape(t, maddr)

	// IMAP: a failed and a good LOGIN, SELECT, NOOP, an unknown command,
	// IDLE, LOGOUT.
	bad := s.Dial()
	bad.Cmd("x", `LOGIN alice wrong`)
	bad.ExpectOK("y", "LOGOUT")
	c := s.Dial()
	c.Login("alice", "pw")
	c.ExpectOK("s", "SELECT INBOX")
	c.ExpectOK("n", "NOOP")
	if l := c.Cmd("u", "FROBNICATE"); !strings.HasPrefix(l[len(l)-1], "u BAD") {
		t.Fatalf("FROBNICATE: %q", l)
	}
	waitMetric(t, maddr, series("barid_connections", "protocol", "imap", "state", "selected"), 1)
	c.Send("i IDLE\r\n")
	if l := c.ReadLine(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	waitMetric(t, maddr, series("barid_imap_idle_sessions", "mode", "idle"), 1)
	c.Send("DONE\r\n")
	c.Until("i")
	waitMetric(t, maddr, series("barid_imap_idle_sessions", "mode", "idle"), 0)
	c.ExpectOK("o", "LOGOUT")

	// POP3: USER, PASS, STAT, QUIT.
	p := s.DialPOP3()
	p.Login("alice", "pw")
	p.OK("STAT")
	p.OK("QUIT")

	// LMTP: one delivery to alice.
	msg := testkit.Message("metrics")
	l := testkit.DialSMTP(t, addrs["lmtp"], false)
	l.Expect("LHLO test", "250")
	l.Expect("MAIL FROM:<bob@example.org>", "250")
	l.Expect("RCPT TO:<alice@localhost>", "250")
	l.Expect("DATA", "354")
	l.Send(strings.ReplaceAll(msg, "\n.", "\n..") + ".\r\n")
	if r := l.Reply(); !strings.HasPrefix(r[0], "250") {
		t.Fatalf("DATA: %q", r)
	}
	l.Expect("QUIT", "221")

	for _, st := range []string{"not_authenticated", "authenticated", "selected"} {
		waitMetric(t, maddr, series("barid_connections", "protocol", "imap", "state", st), before[series("barid_connections", "protocol", "imap", "state", st)])
	}
	waitMetric(t, maddr, series("barid_connections", "protocol", "pop3", "state", "transaction"), 0)
	waitMetric(t, maddr, series("barid_connections", "protocol", "lmtp", "state", "idle"), 0)
	after := scrape(t, maddr)

	want := map[string]float64{
		series("barid_connections_total", "protocol", "imap"):                                        2,
		series("barid_connections_total", "protocol", "pop3"):                                        1,
		series("barid_connections_total", "protocol", "lmtp"):                                        1,
		cmdSeries("imap", "LOGIN", "OK"):                                                             1,
		cmdSeries("imap", "LOGIN", "NO"):                                                             1,
		cmdSeries("imap", "SELECT", "OK"):                                                            1,
		cmdSeries("imap", "NOOP", "OK"):                                                              1,
		cmdSeries("imap", "IDLE", "OK"):                                                              1,
		cmdSeries("imap", "LOGOUT", "OK"):                                                            2,
		cmdSeries("imap", "unknown", "BAD"):                                                          1,
		series("barid_command_duration_seconds_count", "protocol", "imap", "command", "NOOP"):        1,
		series("barid_command_duration_seconds_count", "protocol", "imap", "command", "IDLE"):        0,
		series("barid_auth_total", "protocol", "imap", "mechanism", "password", "result", "success"): 1,
		series("barid_auth_total", "protocol", "imap", "mechanism", "password", "result", "failure"): 1,
		cmdSeries("pop3", "USER", "OK"):                                                              1,
		cmdSeries("pop3", "PASS", "OK"):                                                              1,
		cmdSeries("pop3", "STAT", "OK"):                                                              1,
		cmdSeries("pop3", "QUIT", "OK"):                                                              1,
		series("barid_auth_total", "protocol", "pop3", "mechanism", "password", "result", "success"): 1,
		cmdSeries("lmtp", "MAIL", "OK"):                                                              1,
		cmdSeries("lmtp", "RCPT", "OK"):                                                              1,
		cmdSeries("lmtp", "DATA", "OK"):                                                              1,
		series("barid_deliveries_total", "result", "delivered"):                                      1,
		series("barid_deliveries_total", "result", "rejected"):                                       0,
		series("barid_command_duration_seconds_count", "protocol", "lmtp", "command", "DATA"):        1,
		series("barid_login_cache_hits_total"):                                                       1, // POP3's PASS after IMAP's LOGIN
	}
	for s, d := range want {
		if _, ok := after[s]; !ok {
			t.Errorf("%s: not exported", s)
			continue
		}
		if got := after[s] - before[s]; got != d {
			t.Errorf("%s moved by %v, want %v", s, got, d)
		}
	}
	// The delivered bytes are the message and the trace headers LMTP
	// adds in front.
	if got := after["barid_delivered_bytes_total"] - before["barid_delivered_bytes_total"]; got < float64(len(msg)) || got > float64(len(msg)+1024) {
		t.Errorf("barid_delivered_bytes_total moved by %v, want the message's %d bytes and its trace headers", got, len(msg))
	}
	// The delivery and the logins committed with an fsync (the SQLite
	// writer's commits are timed; the PostgreSQL store has no such timer,
	// docs/operations.md).
	if got := after[series("barid_store_commit_duration_seconds_count", "sync", "full")] - before[series("barid_store_commit_duration_seconds_count", "sync", "full")]; s.Cfg.Storage.Metadata == "" && got < 1 {
		t.Errorf("no durable COMMIT timed (moved by %v)", got)
	}
	// Label sets stay bounded: no series names a command outside the
	// tables.
	for s := range after {
		if strings.Contains(s, "FROBNICATE") {
			t.Errorf("unbounded label: %s", s)
		}
	}
}

// TestMetricsOff: without [metrics] listen there is no listener.
func TestMetricsOff(t *testing.T) {
	s := testkit.Start(t)
	if a, ok := s.App.Addrs()["metrics"]; ok {
		t.Fatalf("metrics listener %s without [metrics] listen", a)
	}
}

// TestPprofLoopbackOnly: [debug] pprof refuses a non-loopback address
// (config validation, and the app itself for a configuration built by
// hand), and serves profiles on loopback.
func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":6060", "0.0.0.0:6060", "[::]:6060", "192.0.2.1:6060", "example.org:6060", "6060"} {
		cfg := config.Default()
		cfg.Debug.Pprof = addr
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "debug.pprof") {
			t.Errorf("pprof %q: validation error %v, want one naming debug.pprof", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0", "127.0.0.2:0"} {
		if err := config.CheckLoopback(addr); err != nil {
			t.Errorf("CheckLoopback(%q): %v", addr, err)
		}
	}

	// Built by hand, past Validate: Listen refuses it too.
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.IMAP.Listen, cfg.IMAP.ListenTLS = "127.0.0.1:0", ""
	cfg.Debug.Pprof = "0.0.0.0:0"
	testkit.ApplyMetadataEnv(t, &cfg)
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Data().Close()
	err = a.Listen()
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("Listen with pprof on 0.0.0.0: %v, want a loopback error", err)
	}

	s := testkit.Start(t, func(c *config.Config) { c.Debug.Pprof = "127.0.0.1:0" })
	paddr := s.App.Addrs()["pprof"]
	if paddr == "" {
		t.Fatal("no pprof listener")
	}
	resp, err := http.Get("http://" + paddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("goroutine")) {
		t.Fatalf("pprof: %s %.100q", resp.Status, body)
	}
}

// TestServeLogFormatJSON runs "barid serve --log-format json
// --log-level debug" and checks that every line it logs over a short
// session is a JSON object, with one "command" line per IMAP command
// carrying the connection id.
func TestServeLogFormatJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := t.TempDir() + "/barid"
	if out, err := exec.Command("go", "build", "-o", bin, "barid/cmd/barid").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	add := exec.Command(bin, "user", "add", "--data", data, "alice")
	add.Stdin = strings.NewReader("pw\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	port := testkit.FreePort(t)
	var logs bytes.Buffer
	srv := exec.Command(bin, "serve", "--data", data, "--imap", fmt.Sprintf("127.0.0.1:%d", port), "--imaps", "off",
		"--lmtp", "off", "--log-format", "json", "--log-level", "debug")
	srv.Stderr = &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var c *testkit.Conn
	deadline := time.Now().Add(10 * time.Second)
	for c == nil {
		nc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c = testkit.NewConn(t, nc)
			break
		}
		if time.Now().After(deadline) {
			srv.Process.Kill()
			t.Fatalf("server did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Login("alice", "pw")
	c.ExpectOK("n", "NOOP")
	c.ExpectOK("o", "LOGOUT")
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()

	commands := map[string]bool{}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		if rec["msg"] == "command" {
			if rec["conn"] == nil || rec["result"] != "OK" {
				t.Errorf("command line without conn or result OK: %q", line)
			}
			commands[fmt.Sprint(rec["command"])] = true
		}
	}
	for _, want := range []string{"LOGIN", "NOOP", "LOGOUT"} {
		if !commands[want] {
			t.Errorf("no debug line for %s in:\n%s", want, logs.String())
		}
	}
}

// TestMetricsFTSPending: barid_fts_pending_contents counts the contents
// waiting for the full-text index, and falls to 0 once they are
// indexed. The background indexer looks only every hour here, so the
// two APPENDs stay pending until the test indexes them itself.
func TestMetricsFTSPending(t *testing.T) {
	s := testkit.Start(t, func(c *config.Config) {
		c.Metrics.Listen = "127.0.0.1:0"
		c.Storage.FTSIndexInterval.Duration = time.Hour
	})
	s.AddUser("alice", "pw")
	maddr := s.App.Addrs()["metrics"]
	const gauge = "barid_fts_pending_contents"
	waitMetric(t, maddr, gauge, 0)
	c := s.Dial()
	c.Login("alice", "pw")
	for i, subj := range []string{"first", "second"} {
		msg := testkit.Message(subj)
		c.Send(fmt.Sprintf("a%d APPEND INBOX {%d+}\r\n%s\r\n", i, len(msg), msg))
		if l := c.Until(fmt.Sprintf("a%d", i)); !strings.HasPrefix(l[len(l)-1], fmt.Sprintf("a%d OK", i)) {
			t.Fatalf("APPEND: %q", l)
		}
	}
	c.ExpectOK("o", "LOGOUT")
	waitMetric(t, maddr, gauge, 2)

	ix := fts.New(s.Store().(fts.Store), s.App.Data().Blobs, nil)
	n, err := ix.CatchUp(context.Background(), 0, nil)
	if err != nil || n != 2 {
		t.Fatalf("CatchUp indexed %d, %v; want 2", n, err)
	}
	waitMetric(t, maddr, gauge, 0)
}
