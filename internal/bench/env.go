package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// Env records what else the machine did during a run. On a shared machine
// other processes take CPU from the server under test; the report shows
// it per run so a reader can tell a clean figure from a noisy one.
type Env struct {
	CPUs       int     `json:"cpus"`
	Seconds    float64 `json:"seconds"`
	LoadStart  float64 `json:"load1_start"` // 1-minute load average
	LoadEnd    float64 `json:"load1_end"`
	MachineCPU float64 `json:"machine_cpu_seconds"` // busy CPU time of the whole machine
	ToolCPU    float64 `json:"tool_cpu_seconds"`    // this load tool
	ServerCPU  float64 `json:"server_cpu_seconds"`  // the server (process tree); -1 if unknown
	// IRQCPU is interrupt and softirq time, which the kernel charges to no
	// process: much of it is the loopback traffic of the run itself.
	IRQCPU   float64 `json:"irq_cpu_seconds"`
	OtherCPU float64 `json:"other_cpu_seconds"` // every other process
}

// cpuSnap is one reading of the counters behind Env.
type cpuSnap struct {
	t       time.Time
	load    float64
	busy    float64
	irq     float64
	self    float64
	server  float64
	hasSrv  bool
	proc    string
	pid     int
	tree    bool
	more    []int
	clockHz float64
}

// userHZ is the unit of /proc/stat and /proc/PID/stat times (USER_HZ),
// 100 on every Linux architecture Go supports.
const userHZ = 100

func snapCPU(proc string, pid int, tree bool) cpuSnap {
	s := cpuSnap{t: time.Now(), proc: proc, pid: pid, tree: tree, clockHz: userHZ, self: cpuSeconds()}
	if b, err := os.ReadFile(filepath.Join(proc, "loadavg")); err == nil {
		if f := bytes.Fields(b); len(f) > 0 {
			s.load, _ = strconv.ParseFloat(string(f[0]), 64)
		}
	}
	if b, err := os.ReadFile(filepath.Join(proc, "stat")); err == nil {
		// "cpu  user nice system idle iowait irq softirq steal ..." (proc(5))
		line, _, _ := bytes.Cut(b, []byte("\n"))
		f := bytes.Fields(line)
		var busy, irq float64
		for i, v := range f[1:] {
			if i == 3 || i == 4 || i >= 8 { // idle, iowait, guest (already in user)
				continue
			}
			n, _ := strconv.ParseFloat(string(v), 64)
			busy += n
			if i == 5 || i == 6 { // irq, softirq
				irq += n
			}
		}
		s.busy = busy / s.clockHz
		s.irq = irq / s.clockHz
	}
	if pid > 0 {
		s.server, s.hasSrv = procCPU(proc, pid, tree, s.clockHz)
	}
	return s
}

// procCPU sums utime+stime of pid (plus the reaped children it waited
// for, cutime+cstime) and, with tree, of its live descendants.
func procCPU(proc string, pid int, tree bool, hz float64) (float64, bool) {
	pids := []int{pid}
	if tree {
		var err error
		if pids, err = descendants(proc, pid); err != nil {
			return 0, false
		}
	}
	var total float64
	for i, p := range pids {
		b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(p), "stat"))
		if err != nil {
			if i == 0 {
				return 0, false
			}
			continue
		}
		j := bytes.LastIndexByte(b, ')')
		if j < 0 {
			continue
		}
		f := bytes.Fields(b[j+1:]) // f[0] is field 3 (state)
		if len(f) < 15 {
			continue
		}
		last := 13 // fields 14 and 15: utime, stime
		if i == 0 {
			last = 15 // and 16, 17: cutime, cstime of the root
		}
		for k := 11; k < last; k++ {
			n, _ := strconv.ParseFloat(string(f[k]), 64)
			total += n
		}
	}
	return total / hz, true
}

// moreCPU sums procCPU over the process trees of pids (a process that
// is gone counts nothing).
func moreCPU(proc string, pids []int, hz float64) float64 {
	var t float64
	for _, p := range pids {
		if c, ok := procCPU(proc, p, true, hz); ok {
			t += c
		}
	}
	return t
}

// envSince turns two snapshots into an Env.
func envSince(a cpuSnap) *Env {
	b := snapCPU(a.proc, a.pid, a.tree)
	if b.hasSrv {
		b.server += moreCPU(a.proc, a.more, b.clockHz)
	}
	e := &Env{
		CPUs:       runtime.NumCPU(),
		Seconds:    b.t.Sub(a.t).Seconds(),
		LoadStart:  a.load,
		LoadEnd:    b.load,
		MachineCPU: b.busy - a.busy,
		ToolCPU:    b.self - a.self,
		ServerCPU:  -1,
		IRQCPU:     b.irq - a.irq,
	}
	other := e.MachineCPU - e.ToolCPU - e.IRQCPU
	if a.hasSrv && b.hasSrv {
		e.ServerCPU = b.server - a.server
		other -= e.ServerCPU
	}
	e.OtherCPU = max(0, other)
	return e
}
