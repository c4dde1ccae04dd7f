package chart

import (
	"bytes"
	"os"
	"testing"

	"barid/internal/bench"
)

func TestWrite(t *testing.T) {
	recs := []bench.Record{
		{Server: "dovecot", Scenario: "mix", Mix: &bench.MixResult{Mode: "session", Clients: 50, OpsPerSec: 900}},
		{Server: "dovecot", Scenario: "mix", Mix: &bench.MixResult{Mode: "session", Clients: 10, OpsPerSec: 500}},
		{Server: "dovecot", Scenario: "mix", Error: "x", Mix: &bench.MixResult{Mode: "cycle", Clients: 10}},
		{Server: "dovecot", Scenario: "idle", Idle: &bench.IdleResult{Established: 1000,
			Before: &bench.MemSample{Procs: 9, RSSKiB: 1024, PSSKiB: 512},
			After:  &bench.MemSample{Procs: 1009, RSSKiB: 5 << 20, PSSKiB: 1 << 20}}},
	}
	th := Throughput(recs, []string{"dovecot", "barid"})
	if len(th) != 1 || th[0].X[0] != 10 || th[0].Y[1] != 900 {
		t.Fatalf("throughput series = %+v", th)
	}
	mem := Memory(recs, []string{"dovecot"})
	if len(mem) != 2 || len(mem[0].X) != 2 || mem[0].Y[1] != 5*1024 {
		t.Fatalf("memory series = %+v", mem)
	}
	dir := t.TempDir()
	files, err := Write(recs, dir, []string{"dovecot", "barid"})
	if err != nil || len(files) != 2 {
		t.Fatalf("Write = %v, %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG (%v)", f, err)
		}
	}
}
