package e2e

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
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"barid/internal/app"
	"barid/internal/config"
)

// Memory per idle connection (docs/concurrency.md): a benchmark, not a test. Run it
// with
//
//	go test -run '^$' -bench IdleConnMemory -benchtime 1x -timeout 30m ./internal/e2e/
//
// E2E_IDLE_CONNS (default "1000,10000") sets the connection counts,
// E2E_PROFILE_DIR keeps barid's heap and goroutine profiles taken while
// every connection idles, E2E_DOVECOT=0 skips the Dovecot comparison.
//
// Each connection is logged in, has INBOX selected and is in IDLE
// (RFC 2177). The connections are opened and held by "barid bench idle"
// (internal/bench, the tool behind docs/benchmarks.md), which also reads
// the server's RSS and PSS from /proc and times one delivery's fan-out
// to every idler. barid runs with BARID_DEBUG_ADDR so that its Go heap,
// stacks and goroutines can be read over pprof at the same moment.

func idleCounts(b *testing.B) []int {
	v := os.Getenv("E2E_IDLE_CONNS")
	if v == "" {
		v = "1000,10000"
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("E2E_IDLE_CONNS: bad count %q", f)
		}
		out = append(out, n)
	}
	return out
}

func BenchmarkIdleConnMemory(b *testing.B) {
	for _, n := range idleCounts(b) {
		b.Run(fmt.Sprintf("barid/conns=%d", n), func(b *testing.B) { benchBaridIdle(b, n) })
	}
	if os.Getenv("E2E_DOVECOT") == "0" {
		return
	}
	for _, n := range idleCounts(b) {
		b.Run(fmt.Sprintf("dovecot/conns=%d", n), func(b *testing.B) { benchDovecotIdle(b, n) })
	}
}

// idleResult is the part of "barid bench idle -json" used here
// (internal/bench IdleResult).
type idleResult struct {
	Idle struct {
		Conns         int     `json:"conns"`
		Established   int     `json:"established"`
		SetupErrors   int     `json:"setup_errors"`
		SetupSeconds  float64 `json:"setup_seconds"`
		RSSPerConnKiB float64 `json:"rss_per_conn_kib"`
		PSSPerConnKiB float64 `json:"pss_per_conn_kib"`
		Before        *struct {
			Procs  int   `json:"procs"`
			RSSKiB int64 `json:"rss_kib"`
			PSSKiB int64 `json:"pss_kib"`
		} `json:"before"`
		After *struct {
			Procs  int   `json:"procs"`
			RSSKiB int64 `json:"rss_kib"`
			PSSKiB int64 `json:"pss_kib"`
		} `json:"after"`
		Deliveries []struct {
			AckMs     float64 `json:"ack_ms"`
			Reached   int     `json:"reached"`
			P50Ms     float64 `json:"p50_ms"`
			P99Ms     float64 `json:"p99_ms"`
			AllMs     float64 `json:"all_ms"`
			MissedMax int     `json:"missed_max"`
		} `json:"deliveries"`
		ErrorSamples []string `json:"error_samples"`
	} `json:"idle"`
	Error string `json:"error"`
}

// runBenchIdle runs "barid bench idle" against addr and returns its
// result. probe, if set, runs while every connection idles (during the
// tool's settle pause).
func runBenchIdle(b *testing.B, bin, addr, user, pass string, n, serverPID int, tree bool, label string, probe func()) *idleResult {
	b.Helper()
	jsonPath := filepath.Join(b.TempDir(), "idle.jsonl")
	args := []string{"bench", "idle", "-addr", addr, "-conns", strconv.Itoa(n), "-user", user, "-password", pass,
		"-server", label, "-server-pid", strconv.Itoa(serverPID), "-rounds", "2", "-settle", "6s",
		"-progress=false", "-json", jsonPath, "-timeout", "120s", "-wait", "120s"}
	if tree {
		args = append(args, "-server-tree")
	}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if probe != nil {
		probe()
	}
	err := <-done
	b.Logf("barid bench idle (%s, %d):\n%s", label, n, out.String())
	raw, rerr := os.ReadFile(jsonPath)
	if rerr != nil {
		b.Fatalf("bench idle wrote no result (%v): %v\n%s", err, rerr, out.String())
	}
	var res idleResult
	if err := json.Unmarshal(bytes.TrimSpace(raw), &res); err != nil {
		b.Fatal(err)
	}
	if res.Error != "" {
		b.Fatalf("bench idle: %s", res.Error)
	}
	return &res
}

func reportIdle(b *testing.B, res *idleResult) {
	r := res.Idle
	b.ReportMetric(r.RSSPerConnKiB, "RSS-KiB/conn")
	b.ReportMetric(r.PSSPerConnKiB, "PSS-KiB/conn")
	b.ReportMetric(float64(r.Established), "conns")
	if len(r.Deliveries) > 0 {
		last := r.Deliveries[len(r.Deliveries)-1]
		b.ReportMetric(last.P99Ms, "fanout-p99-ms")
		b.ReportMetric(last.AllMs, "fanout-all-ms")
	}
	if r.SetupErrors > 0 {
		b.Errorf("%d of %d connections failed: %v", r.SetupErrors, r.Conns, r.ErrorSamples)
	}
}

// memStats are runtime.MemStats fields as the pprof heap profile
// (debug=1) prints them.
type memStats map[string]int64

var memStatRE = regexp.MustCompile(`^# (\w+) = (\d+)`)

func readMemStats(debugAddr string) (memStats, int, error) {
	resp, err := http.Get("http://" + debugAddr + "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	ms := memStats{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := memStatRE.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseInt(m[2], 10, 64)
			ms[m[1]] = v
			if m[1] == "Stack" { // "# Stack = inuse / sys"
				ms["StackInuse"] = v
			}
		}
	}
	g, err := goroutines(debugAddr)
	return ms, g, err
}

func goroutines(debugAddr string) (int, error) {
	resp, err := http.Get("http://" + debugAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return 0, err
	}
	// "goroutine profile: total N"
	f := strings.Fields(line)
	return strconv.Atoi(f[len(f)-1])
}

func saveProfile(b *testing.B, debugAddr, path, name string) {
	dir := os.Getenv("E2E_PROFILE_DIR")
	if dir == "" {
		return
	}
	resp, err := http.Get("http://" + debugAddr + path)
	if err != nil {
		b.Logf("profile %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	os.MkdirAll(dir, 0o755)
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		b.Logf("profile %s: %v", path, err)
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
	b.Logf("saved %s", f.Name())
}

// addUserCheap creates an account whose password hash is cheap to
// verify (cheapParams), so that logging in 10,000 connections measures
// connection state, not 10,000 argon2id runs of 19 MiB each (whose
// transient heap would also inflate RSS). Dovecot gets a {PLAIN} entry
// for the same reason.
func addUserCheap(b *testing.B, data, name, password string) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = data
	d, err := app.OpenData(ctx, &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, err := app.CreateAccountWith(ctx, d.Store, name, password, cheapParams); err != nil {
		b.Fatal(err)
	}
}

var debugAddrRE = regexp.MustCompile(`debug_addr=(\S+)`)

func benchBaridIdle(b *testing.B, n int) {
	bin := baridBinary(b)
	dir := b.TempDir()
	data := filepath.Join(dir, "data")
	const user, pass = "user1", "password"
	addUserCheap(b, data, user, pass)
	cfg := filepath.Join(dir, "barid.toml")
	err := os.WriteFile(cfg, []byte(`# e2e idle benchmark: loopback only, connection limits opened.
[auth]
trusted_networks = ["127.0.0.0/8"]

[limits]
max_conns_per_ip = 1000000
max_conns_per_user = 1000000
`), 0o600)
	if err != nil {
		b.Fatal(err)
	}
	p := startProcEnv(b, bin, data, []string{"BARID_DEBUG_ADDR=127.0.0.1:0"}, "--config", cfg)
	m := debugAddrRE.FindStringSubmatch(p.log.String())
	if m == nil {
		b.Fatalf("no debug listener in the log:\n%s", p.log)
	}
	debugAddr := m[1]
	before, g0, err := readMemStats(debugAddr)
	if err != nil {
		b.Fatal(err)
	}
	var after memStats
	var g1 int
	probe := func() {
		// Wait for the connections to be up (one goroutine each at least),
		// then for the count to settle.
		deadline := time.Now().Add(10 * time.Minute)
		last := -1
		for time.Now().Before(deadline) {
			g, err := goroutines(debugAddr)
			if err == nil && g >= g0+n && g == last {
				break
			}
			last = g
			time.Sleep(500 * time.Millisecond)
		}
		after, g1, err = readMemStats(debugAddr)
		if err != nil {
			b.Error(err)
		}
		saveProfile(b, debugAddr, "/debug/pprof/heap?gc=1", fmt.Sprintf("barid-heap-%d.pb.gz", n))
		saveProfile(b, debugAddr, "/debug/pprof/goroutine?debug=1", fmt.Sprintf("barid-goroutines-%d.txt", n))
	}
	res := runBenchIdle(b, bin, p.addr, user, pass, n, p.pid(), false, "barid", probe)
	p.stop()
	reportIdle(b, res)
	if after == nil {
		return
	}
	per := func(k string) float64 { return float64(after[k]-before[k]) / float64(n) / 1024 }
	b.ReportMetric(per("HeapInuse"), "heap-KiB/conn")
	b.ReportMetric(per("StackInuse"), "stack-KiB/conn")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
	b.Logf("barid %d idle conns: RSS %.1f KiB/conn, Go heap in use %.1f KiB/conn, stacks %.1f KiB/conn, %.2f goroutines/conn (%d -> %d); HeapInuse %d -> %d, StackInuse %d -> %d, Sys %d -> %d",
		n, res.Idle.RSSPerConnKiB, per("HeapInuse"), per("StackInuse"), float64(g1-g0)/float64(n), g0, g1,
		before["HeapInuse"], after["HeapInuse"], before["StackInuse"], after["StackInuse"], before["Sys"], after["Sys"])
}

// benchDovecotIdle measures a private Dovecot (Debian's dovecot-imapd)
// the same way: its own configuration in a temporary folder, IMAP on
// 127.0.0.1:14330, maildir, passwd-file, limits raised for n clients,
// one imap process per connection (Dovecot's default). Memory is summed
// over the master and every process below it (-server-tree); PSS is the
// fair figure for many processes sharing code pages.
func benchDovecotIdle(b *testing.B, n int) {
	dovecot, err := exec.LookPath("dovecot")
	if err != nil {
		b.Skip("dovecot not installed (apt-get install -y dovecot-imapd)")
	}
	if os.Geteuid() != 0 {
		b.Skip("the Dovecot comparison runs as root (mail user nobody, login user dovenull)")
	}
	if _, err := user.Lookup("dovenull"); err != nil {
		b.Skip("no dovenull user: dovecot-core not set up")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		b.Skip("no user nobody")
	}
	bin := baridBinary(b)
	dir, err := os.MkdirTemp("", "e2e-dovecot-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, d := range []string{"run", "state", "mail", "log"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	exec.Command("chown", "-R", "nobody:", filepath.Join(dir, "mail")).Run()
	const user1, pass = "user1", "password"
	os.WriteFile(filepath.Join(dir, "passwd"), []byte(user1+":{PLAIN}"+pass+"\n"), 0o644)
	plimit := n + 200
	conf := fmt.Sprintf(`# e2e idle benchmark: a private Dovecot on loopback.
instance_name = e2e-idle
base_dir = %[1]s/run
state_dir = %[1]s/state
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = %[1]s/log/dovecot.log
mail_location = maildir:%[1]s/mail/%%n/mail
mail_uid = %[2]s
mail_gid = %[3]s
first_valid_uid = %[2]s
last_valid_uid = %[2]s
first_valid_gid = %[3]s
default_login_user = dovenull
default_internal_user = dovecot
mail_max_userip_connections = %[4]d
default_client_limit = %[5]d
default_process_limit = %[4]d
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[2]s gid=%[3]s home=%[1]s/mail/%%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 14330
  }
  inet_listener imaps {
    port = 0
  }
  process_limit = 512
}
service imap {
  process_limit = %[4]d
}
`, dir, nobody.Uid, nobody.Gid, plimit, 2*n+1000)
	confPath := filepath.Join(dir, "dovecot.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	// One inotify instance per imap process, or idlers poll every 30 s.
	if raw, err := os.ReadFile("/proc/sys/fs/inotify/max_user_instances"); err == nil {
		if cur, _ := strconv.Atoi(strings.TrimSpace(string(raw))); cur < plimit+100 {
			if err := os.WriteFile("/proc/sys/fs/inotify/max_user_instances", []byte(strconv.Itoa(plimit+100)), 0o644); err != nil {
				b.Logf("fs.inotify.max_user_instances is %d: Dovecot idlers past it poll every 30 s", cur)
			} else {
				b.Logf("fs.inotify.max_user_instances raised from %d to %d", cur, plimit+100)
			}
		}
	}
	cmd := exec.Command(dovecot, "-F", "-c", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		exec.Command("doveadm", "-c", confPath, "stop").Run()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	addr := "127.0.0.1:14330"
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log", "dovecot.log"))
			b.Fatalf("dovecot did not listen on %s: %v\n%s\n%s", addr, err, out.String(), log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ver, _ := exec.Command(dovecot, "--version").Output()
	b.Logf("Dovecot %s", strings.TrimSpace(string(ver)))
	res := runBenchIdle(b, bin, addr, user1, pass, n, cmd.Process.Pid, true, "dovecot", nil)
	reportIdle(b, res)
	if res.Idle.After != nil {
		b.ReportMetric(float64(res.Idle.After.Procs), "procs")
	}
}
