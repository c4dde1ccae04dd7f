package imex

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress draws one status line on w (standard error): messages and
// bytes done of the total, the rate, and the time left. On a terminal
// the line is redrawn in place; elsewhere a line is printed every
// interval so that logs stay readable.
type Progress struct {
	w        io.Writer
	label    string
	tty      bool
	interval time.Duration

	totalMsgs, totalBytes atomic.Int64
	msgs, bytes, skipped  atomic.Int64
	start                 time.Time

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// NewProgress starts drawing on w; w nil draws nothing. Call Stop.
func NewProgress(w io.Writer, label string, tty bool) *Progress {
	p := &Progress{w: w, label: label, tty: tty, interval: 5 * time.Second, start: time.Now(), stop: make(chan struct{})}
	if tty {
		p.interval = 250 * time.Millisecond
	}
	if w == nil {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
	return p
}

// AddTotal grows the expected totals (0 bytes: unknown).
func (p *Progress) AddTotal(msgs, bytes int64) {
	if p == nil {
		return
	}
	p.totalMsgs.Add(msgs)
	p.totalBytes.Add(bytes)
}

// Done counts one message handled (imported or skipped as already there).
func (p *Progress) Done(bytes int64, skipped bool) {
	if p == nil {
		return
	}
	p.msgs.Add(1)
	p.bytes.Add(bytes)
	if skipped {
		p.skipped.Add(1)
	}
}

// Stop draws the final line.
func (p *Progress) Stop() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if p.w != nil {
			p.draw(true)
		}
	})
}

// Line renders the current state.
func (p *Progress) Line() string {
	msgs, bytes := p.msgs.Load(), p.bytes.Load()
	tm, tb := p.totalMsgs.Load(), p.totalBytes.Load()
	el := time.Since(p.start)
	var b strings.Builder
	b.WriteString(p.label)
	const width = 24
	if tm > 0 {
		fill := int(min(msgs, tm) * width / tm)
		fmt.Fprintf(&b, " [%s%s] %d/%d msgs", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), msgs, tm)
	} else {
		fmt.Fprintf(&b, " %d msgs", msgs)
	}
	if tb > 0 {
		fmt.Fprintf(&b, ", %s/%s", human(bytes), human(tb))
	} else {
		fmt.Fprintf(&b, ", %s", human(bytes))
	}
	if s := p.skipped.Load(); s > 0 {
		fmt.Fprintf(&b, " (%d already there)", s)
	}
	rate := 0.0
	if sec := el.Seconds(); sec > 0 {
		rate = float64(msgs) / sec
	}
	fmt.Fprintf(&b, ", %.0f msg/s", rate)
	if sec := el.Seconds(); sec > 0 {
		fmt.Fprintf(&b, " %s/s", human(int64(float64(bytes)/sec)))
	}
	fmt.Fprintf(&b, ", %s elapsed", el.Round(time.Second))
	if tm > msgs && rate > 0 {
		left := time.Duration(float64(tm-msgs) / rate * float64(time.Second))
		fmt.Fprintf(&b, ", %s left", left.Round(time.Second))
	}
	return b.String()
}

func (p *Progress) draw(final bool) {
	line := p.Line()
	switch {
	case p.tty && final:
		fmt.Fprintf(p.w, "\r\033[K%s\n", line)
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	default:
		fmt.Fprintln(p.w, line)
	}
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
