package bench

import (
	"os"
	"testing"
)

func TestEnvAccounting(t *testing.T) {
	s := snapCPU("/proc", os.Getpid(), true)
	if !s.hasSrv {
		t.Fatal("own process not readable as the server")
	}
	// Burn some CPU so the counters move (USER_HZ resolution is 10 ms).
	x := 0
	for i := 0; i < 200_000_000; i++ {
		x += i ^ (x >> 3)
	}
	_ = x
	e := envSince(s)
	if e.CPUs < 1 || e.Seconds <= 0 || e.MachineCPU <= 0 || e.ToolCPU <= 0 {
		t.Fatalf("env = %+v", e)
	}
	// Here the "server" is this very process, so its CPU is the tool's.
	if e.ServerCPU < 0 || e.ServerCPU > e.ToolCPU+0.05 || e.OtherCPU < 0 {
		t.Fatalf("env = %+v", e)
	}
	if _, ok := procCPU("/proc", 1<<30, false, userHZ); ok {
		t.Fatal("missing pid accounted")
	}
	if e := envSince(snapCPU("/proc", 0, false)); e.ServerCPU != -1 {
		t.Fatalf("no server pid: ServerCPU = %v, want -1", e.ServerCPU)
	}
}
