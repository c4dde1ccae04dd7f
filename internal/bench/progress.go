package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a one-line progress bar on stderr.
type progress struct {
	w     io.Writer
	label string
	total int64
	start time.Time
	done  atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startProgress(w io.Writer, enabled bool, label string, total int64) *progress {
	p := &progress{w: w, label: label, total: total, start: time.Now(), stop: make(chan struct{})}
	if !enabled || w == nil {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				p.draw(true)
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
	return p
}

func (p *progress) Add(n int) { p.done.Add(int64(n)) }

func (p *progress) draw(final bool) {
	done := p.done.Load()
	el := time.Since(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el
	}
	const width = 30
	fill := 0
	if p.total > 0 {
		fill = int(min(done, p.total) * width / p.total)
	}
	eta := "?"
	if rate > 0 && p.total > done {
		eta = time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if p.total <= done {
		eta = "0s"
	}
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %.0f/s ETA %s   %s", p.label,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, p.total, rate, eta, end)
}

// Finish stops the bar and prints the final state.
func (p *progress) Finish() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}
