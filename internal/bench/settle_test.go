package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

// settle returns at once without a server PID, reports a quiet server
// (this test process, idle) as quiet, and gives up when max is over.
func TestSettle(t *testing.T) {
	ctx := context.Background()
	if w, quiet := (&serverProc{}).settle(ctx, time.Minute); w != 0 || !quiet {
		t.Fatalf("no PID: %v, %v", w, quiet)
	}
	if _, quiet := (&serverProc{pid: os.Getpid()}).settle(ctx, time.Minute); !quiet {
		t.Fatal("an idle process was not found quiet within a minute")
	}
	if _, quiet := (&serverProc{pid: os.Getpid()}).settle(ctx, time.Nanosecond); quiet {
		t.Fatal("settle with no time to measure said quiet")
	}
	if _, quiet := (&serverProc{pid: 1 << 30}).settle(ctx, time.Minute); !quiet {
		t.Fatal("a PID that does not exist is not waited for")
	}
}
