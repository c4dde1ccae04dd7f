package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"
	"time"
)

// Record is one scenario run, one line of the JSON-lines results file that
// the report and the chart generator read.
type Record struct {
	Time     time.Time `json:"time"`
	Server   string    `json:"server"`   // label, e.g. "dovecot" or "barid"
	Scenario string    `json:"scenario"` // mix, populate, bigbox, idle, lmtp, sieve, pop3, latency
	Error    string    `json:"error,omitempty"`
	Env      *Env      `json:"env,omitempty"`

	Mix      *MixResult      `json:"mix,omitempty"`
	Populate *PopulateResult `json:"populate,omitempty"`
	Bigbox   *BigboxResult   `json:"bigbox,omitempty"`
	Idle     *IdleResult     `json:"idle,omitempty"`
	LMTP     *LMTPResult     `json:"lmtp,omitempty"`
	POP3     *POP3Result     `json:"pop3,omitempty"`

	Sieve      *SieveResult      `json:"sieve,omitempty"`
	Submission *SubmissionResult `json:"submission,omitempty"`
	Latency    *LatencyResult    `json:"latency,omitempty"`
	// Drain is the drain scenario: a wait for the server's backlog
	// between scenarios (After only).
	Drain *DrainResult `json:"drain,omitempty"`
}

// OpStat summarizes one kind of operation.
type OpStat struct {
	Name      string  `json:"name"`
	Count     int     `json:"count"`
	Errors    int     `json:"errors"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	MeanMs    float64 `json:"mean_ms"`
}

// MixResult is the outcome of the mix scenario.
type MixResult struct {
	Mode         string   `json:"mode"` // "session" or "cycle"
	Clients      int      `json:"clients"`
	Users        int      `json:"users"`
	Seconds      float64  `json:"seconds"`
	Ops          int      `json:"ops"`
	OpsPerSec    float64  `json:"ops_per_sec"`
	Errors       int      `json:"errors"`
	Reconnects   int      `json:"reconnects"`
	ClientCPU    float64  `json:"client_cpu_seconds"` // the bench process's own CPU time
	PerOp        []OpStat `json:"per_op"`
	ErrorSamples []string `json:"error_samples,omitempty"`
}

// PopulateResult is the outcome of the populate scenario.
type PopulateResult struct {
	Method    string  `json:"method"` // multiappend, append, lmtp
	Users     string  `json:"users"`
	Mailbox   string  `json:"mailbox"`
	PerUser   int     `json:"per_user"`
	Messages  int     `json:"messages"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	MsgPerSec float64 `json:"msg_per_sec"`
	MBPerSec  float64 `json:"mb_per_sec"`
	Errors    int     `json:"errors"`
	Seed      uint64  `json:"seed"`
}

// BigboxOp is one timed bigbox operation.
type BigboxOp struct {
	Name     string    `json:"name"`
	Command  string    `json:"command"`
	NA       string    `json:"na,omitempty"` // why it was not run
	RunsMs   []float64 `json:"runs_ms,omitempty"`
	FirstMs  float64   `json:"first_ms"`
	MedianMs float64   `json:"median_ms"`
	Results  int       `json:"results"` // FETCH responses or SEARCH hits
	Error    string    `json:"error,omitempty"`
	// ServerCPUMs is the server's CPU time (user + system, of its process
	// tree with -server-tree) during each run, with -server-pid; /proc
	// counts it in ticks of 10 ms, so one run's figure is ±10 ms.
	ServerCPUMs []float64 `json:"server_cpu_ms,omitempty"`
}

// BigboxResult is the outcome of the bigbox scenario.
type BigboxResult struct {
	User     string     `json:"user"`
	Mailbox  string     `json:"mailbox"`
	Messages int        `json:"messages"`
	Repeat   int        `json:"repeat"`
	Ops      []BigboxOp `json:"ops"`
	// ServerMem is the server's memory after the last operation, with
	// -server-pid: for barid, mostly the flag index and the record cache
	// of the big mailbox.
	ServerMem *MemSample `json:"server_mem,omitempty"`
}

// MemSample is the server's memory at one moment.
type MemSample struct {
	Procs int `json:"procs"`
	// RSSKiB and PSSKiB leave out the pages of mapped files (see
	// procMem), which FileRSSKiB gives.
	RSSKiB     int64 `json:"rss_kib"`
	PSSKiB     int64 `json:"pss_kib"`
	FileRSSKiB int64 `json:"file_rss_kib"`
}

// IdleResult is the outcome of the idle scenario.
type IdleResult struct {
	Conns         int         `json:"conns"`
	Established   int         `json:"established"`
	SetupErrors   int         `json:"setup_errors"`
	SetupSeconds  float64     `json:"setup_seconds"`
	SourceIPs     int         `json:"source_ips"`
	Before        *MemSample  `json:"before,omitempty"`
	After         *MemSample  `json:"after,omitempty"`
	RSSPerConnKiB float64     `json:"rss_per_conn_kib"`
	PSSPerConnKiB float64     `json:"pss_per_conn_kib"`
	Deliver       string      `json:"deliver"`
	Deliveries    []IdleRound `json:"deliveries"`
	ClientRSSKiB  int64       `json:"client_rss_kib"`
	ErrorSamples  []string    `json:"error_samples,omitempty"`
}

// IdleRound is one delivery fanned out to every idler.
type IdleRound struct {
	AckMs     float64 `json:"ack_ms"`     // delivery acknowledged
	Reached   int     `json:"reached"`    // idlers that saw EXISTS
	P50Ms     float64 `json:"p50_ms"`     // half of them had it
	P99Ms     float64 `json:"p99_ms"`     // 99% had it
	AllMs     float64 `json:"all_ms"`     // the last one had it
	TimedOut  bool    `json:"timed_out"`  // not everyone saw it in time
	MissedMax int     `json:"missed_max"` // idlers that never saw it
	// ServerCPUMs is the server's CPU time (user + system, from /proc)
	// from the delivery until the last idler had it, with -server-pid:
	// what the fan-out costs, whatever else shares the machine.
	ServerCPUMs float64 `json:"server_cpu_ms,omitempty"`
	// ByAddr splits the figures by the address the idlers connected
	// to, when -addr names several (the nodes of a cluster); the
	// delivery was made at the first.
	ByAddr []IdleAddrRound `json:"by_addr,omitempty"`
}

// IdleAddrRound is one delivery's arrival at the idlers of one address.
type IdleAddrRound struct {
	Addr    string  `json:"addr"`
	Idlers  int     `json:"idlers"`
	Reached int     `json:"reached"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	AllMs   float64 `json:"all_ms"`
}

// LMTPResult is the outcome of the lmtp scenario.
type LMTPResult struct {
	Concurrency int     `json:"concurrency"`
	Size        int     `json:"size"`
	Seconds     float64 `json:"seconds"`
	Delivered   int     `json:"delivered"`
	PerSec      float64 `json:"per_sec"`
	MBPerSec    float64 `json:"mb_per_sec"`
	Errors      int     `json:"errors"`
	ClientCPU   float64 `json:"client_cpu_seconds"`
	Latency     OpStat  `json:"latency"`
	ErrorSample string  `json:"error_sample,omitempty"`
	// DD is the disk's durable write bandwidth measured by dd just
	// before this run (lmtp -dd), the physical limit a delivery of
	// large messages is compared with.
	DD *DDResult `json:"dd,omitempty"`
	// Drain is the wait for the server's background backlog before and
	// after the run (-drain-metrics): After.ServerCPU is this run's
	// deferred work (barid's full-text indexing of what it delivered).
	Drain *DrainResult `json:"drain,omitempty"`
}

// DrainUsPerMsg is the server CPU of the drain after the run per
// delivery, in µs; -1 when unknown.
func (r *LMTPResult) DrainUsPerMsg() float64 {
	if r.Drain == nil || r.Drain.After.ServerCPU < 0 || r.Delivered == 0 {
		return -1
	}
	return 1e6 * r.Drain.After.ServerCPU / float64(r.Delivered)
}

// DDResult is one "dd if=/dev/zero of=FILE bs=1M count=N oflag=dsync":
// every 1 MiB write returns only once it is on stable storage.
type DDResult struct {
	Dir      string  `json:"dir"`
	Count    int     `json:"count"` // 1 MiB blocks
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	MBPerSec float64 `json:"mb_per_sec"` // 10^6 bytes per second, as dd and LMTPResult.MBPerSec count
	Output   string  `json:"output"`     // dd's summary line
}

// AppendRecord appends rec as one JSON line to path ("" does nothing).
func AppendRecord(path string, rec Record) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadRecords reads a JSON-lines results file.
func ReadRecords(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("results line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// summarize turns raw latencies (nanoseconds) into an OpStat.
func summarize(name string, ns []int64, errors int, elapsed time.Duration) OpStat {
	s := OpStat{Name: name, Count: len(ns), Errors: errors}
	if elapsed > 0 {
		s.OpsPerSec = float64(len(ns)) / elapsed.Seconds()
	}
	if len(ns) == 0 {
		return s
	}
	slices.Sort(ns)
	var sum int64
	for _, v := range ns {
		sum += v
	}
	s.P50Ms = ms(ns[pct(len(ns), 50)])
	s.P99Ms = ms(ns[pct(len(ns), 99)])
	s.MaxMs = ms(ns[len(ns)-1])
	s.MeanMs = ms(sum / int64(len(ns)))
	return s
}

// pct returns the index of the p-th percentile (nearest rank) in a sorted
// slice of length n.
func pct(n int, p float64) int {
	i := int(float64(n)*p/100+0.999999) - 1
	return max(0, min(n-1, i))
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// cpuSeconds returns the CPU time (user + system) this process has used,
// so each result can say how much of the machine the load tool took.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
