package bench

import (
	"context"
	"time"
)

// settleWindow and settleShare define a quiet server: less than
// settleShare of one CPU over settleWindow.
const (
	settleWindow = 500 * time.Millisecond
	settleShare  = 0.03
)

// settle waits, up to max, until the server (-server-pid, with its tree
// and -server-more) is quiet, so that background work left by the
// previous run (barid's full-text indexer catching up on the messages
// just delivered) is not charged to the next one. It returns how long
// it waited and whether the server was quiet; without a server PID it
// returns at once.
func (s *serverProc) settle(ctx context.Context, max time.Duration) (time.Duration, bool) {
	if s.pid <= 0 || max <= 0 {
		return 0, true
	}
	start := time.Now()
	prev := s.snap()
	if !prev.hasSrv {
		return 0, true
	}
	for time.Since(start) < max {
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-time.After(settleWindow):
		}
		cur := s.snap()
		if !cur.hasSrv {
			return time.Since(start), false
		}
		used := cur.server - prev.server
		prev = cur
		if used < settleShare*settleWindow.Seconds() {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}
