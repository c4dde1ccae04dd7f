package filter

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/store"
)

// Outbox sends the mail Sieve scripts make to the smarthost ([sieve]
// smtp) from the spool in the metadata store (store.SieveScripts
// QueueOutgoing), so a message queued before a crash or a restart is
// sent after it. A failed attempt is retried after RetryInterval,
// doubling up to an hour, MaxAttempts times; a permanent refusal (5xx)
// ends at once. Both are logged.
type Outbox struct {
	Store store.SieveScripts
	// Addr is the smarthost, "HOST:PORT"; empty keeps mail in the spool
	// (and says so in the log).
	Addr     string
	Hostname string // EHLO name
	Logger   *slog.Logger
	// RetryInterval is the first pause after a failure ([sieve]
	// retry_interval).
	RetryInterval time.Duration
	// MaxAttempts bounds the attempts ([sieve] max_attempts).
	MaxAttempts int
	// Poll is how often the spool is read when nothing wakes the
	// outbox (default 10 s).
	Poll time.Duration
	// Timeout bounds one SMTP session (default 2 min).
	Timeout time.Duration
	// Owner names this outbox in the spool's leases (default: the
	// host name, the process id and a random suffix, unique per
	// process).
	Owner string
	// Lease is how long a claimed message belongs to this outbox
	// before another node may take it over (default: Timeout plus one
	// minute, so a send that is still running keeps its lease; longer
	// than any clock skew between nodes should be).
	Lease time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time

	wake chan struct{}
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Outbox) log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o *Outbox) init() {
	if o.wake == nil {
		o.wake = make(chan struct{}, 1)
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		var r [4]byte
		rand.Read(r[:])
		o.Owner = fmt.Sprintf("%s/%s/%d/%x", o.Hostname, host, os.Getpid(), r)
	}
}

func (o *Outbox) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 2 * time.Minute
	}
	return o.Timeout
}

func (o *Outbox) lease() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return o.timeout() + time.Minute
}

// Queue stores m in the spool (durably) and wakes the sender.
func (o *Outbox) Queue(ctx context.Context, m *store.OutgoingMail) error {
	if m.NextTry.IsZero() {
		m.NextTry = o.now()
	}
	id, err := o.Store.QueueOutgoing(ctx, m)
	if err != nil {
		return err
	}
	m.ID = id
	o.log().Info("sieve: outgoing mail queued", "id", id, "kind", m.Kind, "to", m.To)
	o.Wake()
	return nil
}

// Wake makes Run look at the spool now.
func (o *Outbox) Wake() {
	if o == nil {
		return
	}
	select {
	case o.wakeCh() <- struct{}{}:
	default:
	}
}

func (o *Outbox) wakeCh() chan struct{} {
	// Init happens in New-less use too: the first caller makes it.
	o.init()
	return o.wake
}

// NewOutbox returns an outbox ready to Queue and Run.
func NewOutbox(o Outbox) *Outbox {
	out := o
	out.init()
	return &out
}

// Run sends due mail until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	poll := o.Poll
	if poll <= 0 {
		poll = 10 * time.Second
	}
	if o.Addr == "" {
		o.log().Warn("sieve: no [sieve] smtp smarthost: redirects, vacation replies and rejections stay in the spool")
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wakeCh():
		}
		o.RunOnce(ctx)
		t.Reset(o.nextWake(ctx, poll))
	}
}

// nextWake is the pause until the next message falls due, at most
// poll.
func (o *Outbox) nextWake(ctx context.Context, poll time.Duration) time.Duration {
	if o.Addr == "" {
		return poll
	}
	now := o.now()
	next, err := o.Store.DueOutgoing(ctx, now.Add(poll), 1)
	if err != nil || len(next) == 0 {
		return poll
	}
	at := next[0].NextTry
	if next[0].LeaseUntil.After(at) {
		// Another node holds it; look again when its lease ends.
		at = next[0].LeaseUntil
	}
	return min(poll, max(at.Sub(now), 10*time.Millisecond))
}

// claimBatch is how many messages one claim leases: few, so that the
// last of them is still sent within the lease.
const claimBatch = 1

// RunOnce sends every due message once; it returns how many were sent.
// Each message is first claimed (store.SieveScripts ClaimOutgoing): with
// several nodes on one store only the claimant sends it, and a message
// claimed by a node that died is taken over once the lease ends.
func (o *Outbox) RunOnce(ctx context.Context) int {
	if o.Addr == "" {
		return 0
	}
	o.init()
	sent := 0
	for {
		due, err := o.Store.ClaimOutgoing(ctx, o.Owner, o.now(), o.lease(), claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				o.log().Error("sieve: reading the outgoing spool failed", "err", err)
			}
			return sent
		}
		if len(due) == 0 {
			return sent
		}
		progress := false
		for i := range due {
			if ctx.Err() != nil {
				return sent
			}
			m := &due[i]
			err := o.send(ctx, m)
			switch {
			case err == nil:
				sent++
				progress = true
				o.log().Info("sieve: outgoing mail sent", "id", m.ID, "kind", m.Kind, "to", m.To, "attempts", m.Attempts+1)
				o.done(ctx, m)
			case permanent(err) || m.Attempts+1 >= o.maxAttempts():
				progress = true
				o.log().Error("sieve: outgoing mail given up", "id", m.ID, "kind", m.Kind, "to", m.To,
					"attempts", m.Attempts+1, "err", err)
				o.done(ctx, m)
			default:
				next := o.now().Add(o.backoff(m.Attempts))
				o.log().Warn("sieve: outgoing mail deferred", "id", m.ID, "kind", m.Kind, "to", m.To,
					"attempts", m.Attempts+1, "retry", next, "err", err)
				if err := o.Store.RetryOutgoing(ctx, m.ID, next, err.Error()); err != nil {
					o.log().Error("sieve: recording a retry failed", "id", m.ID, "err", err)
					return sent
				}
			}
		}
		if !progress {
			return sent
		}
	}
}

func (o *Outbox) done(ctx context.Context, m *store.OutgoingMail) {
	if err := o.Store.DeleteOutgoing(ctx, m.ID); err != nil {
		o.log().Error("sieve: removing sent mail from the spool failed; it may be sent again", "id", m.ID, "err", err)
	}
}

func (o *Outbox) maxAttempts() int {
	if o.MaxAttempts <= 0 {
		return 20
	}
	return o.MaxAttempts
}

// backoff is RetryInterval doubled per earlier attempt, at most an hour.
func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.RetryInterval
	if d <= 0 {
		d = time.Minute
	}
	for range min(attempts, 20) {
		d *= 2
		if d >= time.Hour {
			return time.Hour
		}
	}
	return d
}

func permanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

// send runs one SMTP transaction with go-smtp's client: EHLO, STARTTLS
// when offered (certificate not checked, as Postfix's "may"), MAIL,
// RCPT, DATA.
func (o *Outbox) send(ctx context.Context, m *store.OutgoingMail) error {
	timeout := o.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{Timeout: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return err
	}
	nc.SetDeadline(time.Now().Add(timeout))
	c := smtp.NewClient(nc)
	defer c.Close()
	host := o.Hostname
	if host == "" {
		host = "localhost"
	}
	if err := c.Hello(host); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		sn, _, _ := net.SplitHostPort(o.Addr)
		if err := c.StartTLS(&tls.Config{ServerName: sn, InsecureSkipVerify: true}); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if err := c.Mail(m.From, nil); err != nil {
		return err
	}
	accepted := 0
	var lastErr error
	for _, to := range m.To {
		if err := c.Rcpt(to, nil); err != nil {
			lastErr = err
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return lastErr
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(m.Data); err != nil {
		return err
	}
	if !bytes.HasSuffix(m.Data, []byte("\r\n")) {
		w.Write([]byte("\r\n"))
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
