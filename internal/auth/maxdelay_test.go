package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/xdg-go/scram"
)

// TestFailedLoginWaitsAtMostMaxFailureDelay: however many failures came
// before, one failed login (LOGIN/PLAIN or SCRAM) is delayed by at most
// MaxFailureDelay in all, the penalty owed before the check included,
// and once the delay has grown to the cap by exactly that (docs/
// security.md and barid.example.toml promise max_failure_delay; before,
// the penalty was waited before the check and again after it, up to
// twice the cap).
func TestFailedLoginWaitsAtMostMaxFailureDelay(t *testing.T) {
	t.Parallel()
	const maxDelay = 15 * time.Second
	sum := func(d []time.Duration) (t time.Duration) {
		for _, x := range d {
			t += x
		}
		return t
	}
	a, _, clk := newTestAuth(t, func(c *Config) { c.FailureDelay = time.Second; c.MaxFailureDelay = maxDelay })
	ctx := context.Background()
	for i := range 12 {
		if _, err := a.Plain(ctx, testRemote, "user", "wrong"); !errors.Is(err, ErrAuthFailed) {
			t.Fatal(err)
		}
		got := sum(clk.takeSlept())
		if got > maxDelay {
			t.Fatalf("failed LOGIN %d waited %v, more than max_failure_delay %v", i+1, got, maxDelay)
		}
		// 1, 2, 4, 8, then the cap.
		want := min(time.Second<<i, maxDelay)
		if got != want {
			t.Errorf("failed LOGIN %d waited %v, want %v", i+1, got, want)
		}
	}
	// SCRAM: the penalty waited at client-first counts too.
	for i := range 3 {
		c, _ := scram.SHA256.NewClient("user", "wrong", "")
		if _, err := runXDG(t, a, "SCRAM-SHA-256", nil, c.NewConversation()); !errors.Is(err, ErrAuthFailed) {
			t.Fatal(err)
		}
		if got := sum(clk.takeSlept()); got != maxDelay {
			t.Errorf("failed SCRAM %d waited %v, want max_failure_delay %v", i+1, got, maxDelay)
		}
	}
	// A success after all that waits the penalty once, no more.
	if _, err := a.Plain(ctx, testRemote, "user", "pencil"); err != nil {
		t.Fatal(err)
	}
	if got := sum(clk.takeSlept()); got != maxDelay {
		t.Errorf("success after failures waited %v, want %v", got, maxDelay)
	}
}
