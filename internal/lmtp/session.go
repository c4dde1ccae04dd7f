package lmtp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/filter"
	"barid/internal/metrics"
	"barid/internal/sieve"
	"barid/internal/store"
)

// session is one LMTP connection. go-smtp calls its methods from the
// connection's goroutine only (LMTPData from a helper goroutine while
// the connection goroutine waits, and the delivery runs on the
// session's worker while that one waits), so it needs no lock; except
// Logout, which Server.Close may call from elsewhere (wmu).
type session struct {
	srv  *Server
	conn *smtp.Conn
	tc   *trackedConn // nil if not accepted by Serve
	id   string
	log  *slog.Logger
	n    int // transactions so far, for transaction ids

	from  string
	rcpts []*recipient

	// The session's delivery worker (onWorker), started at the first
	// DATA: work hands it a delivery, workDone carries back what the
	// delivery panicked with (nil if it did not), and workQuit, closed
	// by Logout, ends it. wmu guards the fields, since go-smtp's
	// Server.Close calls Logout from another goroutine.
	wmu       sync.Mutex
	work      chan func()
	workDone  chan any
	workQuit  chan struct{}
	loggedOut bool
}

type recipient struct {
	addr    string // as given in RCPT TO: the key for SetStatus
	target  *Target
	mailbox string // wanted mailbox (hand-off only)
	// envTo is the envelope recipient Sieve sees: addr, or for a
	// hand-off the USER "barid deliver" was given.
	envTo string
}

var _ smtp.LMTPSession = (*session)(nil)

// Reset discards the transaction (RSET, LHLO, and after each DATA).
func (s *session) Reset() {
	s.from = ""
	s.rcpts = nil
	s.setBusy(false)
}

func (s *session) setBusy(b bool) {
	if s.tc != nil {
		s.tc.busy.Store(b)
	}
	if b {
		s.setState(mTransaction)
	} else {
		s.setState(mIdle)
	}
}

// Logout ends the session, and its delivery worker if it has one. It
// may run while a delivery does (go-smtp's Server.Close): the worker
// finishes that delivery first.
func (s *session) Logout() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if !s.loggedOut {
		s.loggedOut = true
		if s.workQuit != nil {
			close(s.workQuit)
		}
	}
	return nil
}

// onWorker runs fn on the session's delivery worker and waits for it.
//
// go-smtp runs each DATA (and last BDAT) on a goroutine of its own,
// which starts with a small stack; a delivery calls deep into SQLite
// (the translated C has large frames), so every delivery grew that
// stack again, copying it each time it doubled: runtime.newstack was
// 24-43 µs per delivery in the #17 profiles (docs/benchmarks.md). The
// worker lives as long as the session, so its stack stays grown from
// one delivery to the next (the garbage collector halves an idle
// goroutine's stack at most once a cycle). Deliveries of one session
// never overlap (go-smtp waits for each DATA), so one worker per session
// changes no concurrency. A panic in fn is passed back and raised again
// here, so go-smtp still answers 421 and closes the connection, as it
// does for a panic in LMTPData. After Logout fn runs here.
func (s *session) onWorker(fn func()) {
	s.wmu.Lock()
	if s.loggedOut {
		s.wmu.Unlock()
		fn()
		return
	}
	if s.work == nil {
		s.work, s.workDone, s.workQuit = make(chan func()), make(chan any), make(chan struct{})
		go deliveryWorker(s.work, s.workDone, s.workQuit)
	}
	work, done, quit := s.work, s.workDone, s.workQuit
	s.wmu.Unlock()
	select {
	case work <- fn:
		// The worker took it and always answers.
		if p := <-done; p != nil {
			panic(p)
		}
	case <-quit:
		fn()
	}
}

func deliveryWorker(work <-chan func(), done chan<- any, quit <-chan struct{}) {
	for {
		select {
		case fn := <-work:
			done <- runRecovered(fn)
		case <-quit:
			return
		}
	}
}

// runRecovered runs fn and returns what it panicked with, nil if it
// returned (a panic(nil) comes back as a *runtime.PanicNilError).
func runRecovered(fn func()) (p any) {
	defer func() { p = recover() }()
	fn()
	return nil
}

// Mail starts a transaction (RFC 5321 §4.1.1.2). SIZE is checked by
// go-smtp against MaxMessageBytes (RFC 1870 §6.2).
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.done("MAIL", metrics.OK, time.Now())
	s.setBusy(true)
	s.from = from
	s.rcpts = nil
	return nil
}

// Rcpt accepts a recipient only if it maps to an account (RFC 2033
// §4.2: recipients are checked now, so DATA's per-recipient replies
// only report delivery itself). Unknown: 550 5.1.1. A store failure:
// 451 4.3.0, and the MTA retries that recipient.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) (err error) {
	start := time.Now()
	defer func() {
		r, _ := smtpResult(err)
		s.done("RCPT", r, start)
	}()
	return s.rcpt(to, opts)
}

func (s *session) rcpt(to string, _ *smtp.RcptOptions) error {
	ctx := s.srv.ctx
	rc := &recipient{addr: to, envTo: to}
	lookup := to
	if user, mailbox, ok := parseHandoff(to); ok {
		if !s.srv.cfg.Handoff {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Hand-off recipients are accepted on the private socket only"}
		}
		lookup, rc.mailbox, rc.envTo = user, mailbox, user
	}
	t, err := s.srv.resolver.Resolve(ctx, lookup)
	if errors.Is(err, store.ErrNoAccount) {
		s.log.Info("lmtp: unknown recipient", "rcpt", to)
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User doesn't exist: " + clean(lookup)}
	}
	if err != nil {
		s.log.Error("lmtp: recipient lookup failed", "rcpt", to, "err", err)
		return ErrTemporary
	}
	rc.target = t
	s.rcpts = append(s.rcpts, rc)
	return nil
}

// Data is the plain SMTP entry point; go-smtp calls LMTPData instead in
// LMTP mode. It delivers and reports the first failure.
func (s *session) Data(r io.Reader) error {
	var first error
	s.onWorker(func() {
		s.deliver(r, func(_ string, err error) {
			if se, ok := err.(*smtp.SMTPError); ok && se.Code/100 != 2 && first == nil {
				first = err
			}
		})
	})
	return first
}

// LMTPData delivers the message and sets one status per accepted
// recipient (RFC 2033 §4.2), in any order; go-smtp writes them in RCPT
// order as they become known.
func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	s.onWorker(func() { s.deliver(r, status.SetStatus) })
	return nil
}

// deliver spools the message once into one blob, then commits it to
// every distinct destination mailbox. set is called exactly once per
// accepted RCPT, and only after that recipient's copy is durable (or
// has failed).
func (s *session) deliver(r io.Reader, set0 func(rcpt string, err error)) {
	ctx := s.srv.ctx
	cfg := &s.srv.cfg
	start := time.Now()
	// Count each recipient's outcome and the DATA command: OK when every
	// recipient has its copy.
	var size int64
	result := metrics.OK
	set := func(rcpt string, err error) {
		code := 451
		if se, ok := err.(*smtp.SMTPError); ok {
			code = se.Code
		}
		cfg.Metrics.Delivery(code, size)
		if r := metrics.SMTPResult(code); r != metrics.OK && result == metrics.OK {
			result = r
		}
		set0(rcpt, err)
	}
	defer func() { s.done("DATA", result, start) }()
	s.n++
	tid := fmt.Sprintf("%s.%d", s.id, s.n)
	var prefix string
	if !cfg.Handoff {
		addrs := make([]string, len(s.rcpts))
		for i, rc := range s.rcpts {
			addrs[i] = rc.addr
		}
		prefix = traceHeaders(s.from, addrs, s.conn.Hostname(), s.conn.Conn().RemoteAddr(), cfg.Hostname, tid, start)
	}
	limit := cfg.MaxMessageBytes
	if limit > 0 {
		limit += int64(len(prefix))
	}
	p, err := cfg.Deliver.Prepare(ctx, io.MultiReader(strings.NewReader(prefix), r), limit, store.Flags{}, start)
	if err != nil {
		st := s.status(err, "spool", "")
		for _, rc := range s.rcpts {
			set(rc.addr, st)
		}
		return
	}
	size = p.Size

	// Destination mailboxes, each once: two RCPTs that reach the same
	// mailbox get one copy and the same reply, as in Dovecot.
	var mbIDs []int64
	var mbNames []string
	slot := make([]int, len(s.rcpts))
	errs := make([]error, len(s.rcpts))
	seen := map[int64]int{}
	// Recipients with an active Sieve script: their copies are filed
	// by Filter.Run, one script run each (docs/sieve.md). Their
	// default mailbox (INBOX, or the +detail one) is resolved only if
	// the script keeps the message: one that it files elsewhere costs
	// the lookup of that folder alone, as a delivery to INBOX without
	// a script costs the lookup of INBOX.
	scripts := make([]*sieve.Script, len(s.rcpts))
	for i, rc := range s.rcpts {
		if cfg.Filter != nil {
			sc, err := cfg.Filter.Active(ctx, rc.target.Account.ID)
			if err != nil {
				errs[i] = err
				continue
			}
			if sc != nil {
				scripts[i] = sc
				continue
			}
		}
		mb, err := s.srv.resolver.Mailbox(ctx, rc.target, rc.mailbox, cfg.Deliver.Bus.Publish)
		if err != nil {
			errs[i] = err
			continue
		}
		k, ok := seen[mb.ID]
		if !ok {
			k = len(mbIDs)
			seen[mb.ID] = k
			mbIDs = append(mbIDs, mb.ID)
			mbNames = append(mbNames, mb.Name)
		}
		slot[i] = k
	}
	uids, cerrs := cfg.Deliver.CommitEach(ctx, p, mbIDs)
	stored := slices.Contains(cerrs, nil)
	outcomes := make([]*filter.Outcome, len(s.rcpts))
	for i, rc := range s.rcpts {
		if scripts[i] == nil || errs[i] != nil {
			continue
		}
		out, err := cfg.Filter.Run(ctx, scripts[i], p, filter.Recipient{Account: rc.target.Account,
			Rcpt: rc.envTo, From: s.from, DefaultFunc: func() (*store.Mailbox, error) {
				return s.srv.resolver.Mailbox(ctx, rc.target, rc.mailbox, cfg.Deliver.Bus.Publish)
			}})
		if err != nil {
			errs[i] = err
			continue
		}
		outcomes[i] = out
		stored = stored || len(out.UIDs) > 0
	}
	if !stored {
		// No mailbox took it: take the blob back now.
		cfg.Deliver.Discard(ctx, p)
	}
	for i, rc := range s.rcpts {
		err := errs[i]
		if out := outcomes[i]; out != nil && err == nil {
			s.sieveStatus(rc, out, tid, p.Size, start, set)
			continue
		}
		if scripts[i] != nil && err != nil {
			set(rc.addr, s.status(err, "sieve", rc.addr))
			continue
		}
		var uid store.UID
		mbName := ""
		if err == nil {
			uid, err, mbName = uids[slot[i]], cerrs[slot[i]], mbNames[slot[i]]
		}
		if err != nil {
			set(rc.addr, s.status(err, "commit", rc.addr))
			continue
		}
		s.log.Info("lmtp: delivered", "id", tid, "from", s.from, "rcpt", rc.addr,
			"account", rc.target.Account.Name, "mailbox", mbName, "uid", uid,
			"size", p.Size, "ms", time.Since(start).Milliseconds())
		// RFC 2033 §4.2: 250 for this recipient, only now that the copy
		// is durable (blob synced, transaction committed).
		set(rc.addr, &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: tid + " Saved"})
	}
}

// sieveStatus answers a recipient whose script ran: 550 5.7.1 with
// the reason for ereject (RFC 5429 §2.1: that recipient alone), 250
// otherwise (reject answers 250 and mails the refusal, RFC 5429 §2.2).
func (s *session) sieveStatus(rc *recipient, out *filter.Outcome, tid string, size int64, start time.Time, set func(string, error)) {
	if out.Rejected != "" {
		s.log.Info("lmtp: refused by the recipient's Sieve script (ereject)", "id", tid, "rcpt", rc.addr,
			"account", rc.target.Account.Name)
		set(rc.addr, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: clean(oneLine(out.Rejected))})
		return
	}
	if len(out.Mailboxes) == 1 {
		// one copy (the usual case): logged as without a script, with
		// no slices to format
		s.log.Info("lmtp: delivered", "id", tid, "from", s.from, "rcpt", rc.addr,
			"account", rc.target.Account.Name, "sieve", true, "mailbox", out.Mailboxes[0], "uid", out.UIDs[0],
			"size", size, "ms", time.Since(start).Milliseconds())
	} else {
		s.log.Info("lmtp: delivered", "id", tid, "from", s.from, "rcpt", rc.addr,
			"account", rc.target.Account.Name, "sieve", true, "mailboxes", out.Mailboxes, "uids", out.UIDs,
			"size", size, "ms", time.Since(start).Milliseconds())
	}
	set(rc.addr, &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: tid + " Saved"})
}

// oneLine joins a multi-line reason into one reply line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
	if len(s) > 400 {
		s = s[:400]
	}
	return s
}

// status classifies err as a reply and logs it; unexpected failures are
// logged as errors.
func (s *session) status(err error, stage, rcpt string) *smtp.SMTPError {
	st := Status(err, s.srv.cfg.QuotaTempFail)
	if st == ErrTemporary || st == ErrShuttingDown {
		s.log.Error("lmtp: delivery failed", "stage", stage, "rcpt", rcpt, "err", err)
	} else {
		s.log.Info("lmtp: delivery refused", "stage", stage, "rcpt", rcpt, "code", st.Code, "err", err)
	}
	return st
}
