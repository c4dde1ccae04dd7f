package submission

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// relayCaps is what the relay announced in its EHLO (after STARTTLS
// when barid used it): the extensions barid passes through rather
// than implements itself. PIPELINING, CHUNKING and ENHANCEDSTATUSCODES
// are barid's own (BDAT is turned into DATA towards the relay, and
// barid adds enhanced codes to a relay's replies that lack them), so
// they do not depend on the relay.
type relayCaps struct {
	eightBit bool  // 8BITMIME (RFC 6152)
	utf8     bool  // SMTPUTF8 (RFC 6531)
	dsn      bool  // DSN (RFC 3461)
	size     int64 // SIZE (RFC 1870); 0: no fixed maximum (also "SIZE" alone, or no SIZE keyword)
}

// capsOf reads a relay client's extensions.
func capsOf(c *smtp.Client) relayCaps {
	var rc relayCaps
	rc.eightBit, _ = c.Extension("8BITMIME")
	rc.utf8, _ = c.Extension("SMTPUTF8")
	rc.dsn, _ = c.Extension("DSN")
	if ok, p := c.Extension("SIZE"); ok {
		// RFC 1870 §4: "SIZE" with no number or "SIZE 0": no fixed
		// maximum.
		if n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64); err == nil && n > 0 {
			rc.size = n
		}
	}
	return rc
}

// capsCache holds the relay's extensions as barid last learned them, by
// a probe (a connection that only says EHLO, STARTTLS as relay_tls says,
// and QUIT) or by any relay connection a session opened. EHLO never
// waits for the relay: it answers from the cache, and an EHLO that finds
// the cache older than submission.relay_ehlo_ttl starts a probe in the
// background.
//
// While barid has never reached the relay (at start, or while the relay
// is down), EHLO announces barid's own set: 8BITMIME, SMTPUTF8 and DSN,
// and SIZE as limits.literal_size. A client with an internationalized
// message or DSN request then goes on to MAIL, which needs the relay
// anyway: if the relay is still down the client gets 451 4.4.1 and
// retries later (the outage is temporary, as the failure it sees); if
// the relay is back, MAIL is checked against what that relay connection
// announced (checkMail) and a parameter it cannot carry is refused with
// 555 5.5.4. Announcing nothing instead would turn a relay outage into a
// permanent failure for such messages: an SMTPUTF8 client must not send
// a UTF-8 envelope to a server that does not announce SMTPUTF8 (RFC 6531
// §3.2). A relay that stops answering after barid learned its set keeps
// that set announced and probes again after the TTL; while barid has
// never reached the relay, a probe is tried again after relayProbeRetry.
type capsCache struct {
	known   bool
	caps    relayCaps
	at      time.Time // when caps were learned, or a probe last failed
	probing bool
}

// relayProbeRetry: while barid has never reached the relay, an EHLO
// this long after the last failed probe starts another (or after the
// TTL, if shorter). Once the set is known, probes follow the TTL.
const relayProbeRetry = 10 * time.Second

// learnRelay records the extensions of a relay connection.
func (s *Server) learnRelay(c *smtp.Client) {
	rc := capsOf(c)
	s.capsMu.Lock()
	s.caps.known, s.caps.caps, s.caps.at = true, rc, time.Now()
	s.capsMu.Unlock()
}

// relayView returns the relay's extensions as barid knows them (ok is
// false while it never reached it) and starts a probe in the background
// when they are older than the TTL.
func (s *Server) relayView() (relayCaps, bool) {
	if s.cfg.Relay == "" {
		return relayCaps{}, false
	}
	s.capsMu.Lock()
	defer s.capsMu.Unlock()
	ttl := s.cfg.RelayEHLOTTL
	if !s.caps.known {
		ttl = min(ttl, relayProbeRetry)
	}
	if !s.caps.probing && (s.caps.at.IsZero() || time.Since(s.caps.at) >= ttl) {
		s.startProbeLocked()
	}
	return s.caps.caps, s.caps.known
}

// probeRelay starts a probe unless one runs (Serve calls it, so barid
// learns the relay's extensions at start).
func (s *Server) probeRelay() {
	if s.cfg.Relay == "" {
		return
	}
	s.capsMu.Lock()
	defer s.capsMu.Unlock()
	if !s.caps.probing {
		s.startProbeLocked()
	}
}

func (s *Server) startProbeLocked() {
	select {
	case <-s.ctx.Done():
		return // closed
	default:
	}
	s.caps.probing = true
	s.probes.Add(1)
	go func() {
		defer s.probes.Done()
		err := s.probe()
		s.capsMu.Lock()
		s.caps.probing = false
		if err != nil {
			s.caps.at = time.Now()
		}
		s.capsMu.Unlock()
		if err != nil {
			s.log.Warn("relay EHLO probe failed; EHLO keeps announcing the last known extensions", "relay", s.cfg.Relay, "err", err)
		}
	}()
}

// probe connects to the relay, learns its extensions and says QUIT. A
// probe is bounded by RelayTimeout per reply and ends when the server
// closes.
func (s *Server) probe() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.RelayTimeout)
	defer cancel()
	c, nc, err := s.dialRelay(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	s.learnRelay(c)
	c.Quit()
	c.Close()
	return nil
}

// filterEHLO makes go-smtp's built-in EHLO keywords tell the truth about
// the relay: 8BITMIME, SMTPUTF8 and DSN only when the relay has them,
// SIZE as the smaller of limits.literal_size and the relay's SIZE
// (RFC 1870 §4; 0 on either side is no limit). See capsCache for what
// is announced while the relay was never reached.
func (s *Server) filterEHLO(caps []string) []string {
	rc, known := s.relayView()
	if !known {
		return caps
	}
	out := caps[:0:0]
	for _, c := range caps {
		kw, _, _ := strings.Cut(c, " ")
		switch strings.ToUpper(kw) {
		case "8BITMIME":
			if !rc.eightBit {
				continue
			}
		case "SMTPUTF8":
			if !rc.utf8 {
				continue
			}
		case "DSN":
			if !rc.dsn {
				continue
			}
		case "SIZE":
			if n := minSize(s.cfg.MaxMessageBytes, rc.size); n > 0 {
				c = fmt.Sprintf("SIZE %d", n)
			} else {
				c = "SIZE"
			}
		}
		out = append(out, c)
	}
	return out
}

// minSize is the smaller of two size limits where 0 means none.
func minSize(a, b int64) int64 {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// errParam is RFC 5321 §4.1.1.11's reply to a MAIL or RCPT parameter the
// server cannot implement, "555 MAIL FROM/RCPT TO parameters not
// recognized or not implemented", with RFC 3463's 5.5.4 (invalid
// command arguments): permanent, as the relay's set does not change from
// one try to the next.
func errParam(param, ext, rfc string) error {
	return &smtp.SMTPError{Code: 555, EnhancedCode: smtp.EnhancedCode{5, 5, 4},
		Message: fmt.Sprintf("%s not available: the relay does not support %s (%s)", param, ext, rfc)}
}

// checkMail refuses a MAIL parameter the relay connection c cannot
// carry, before MAIL is sent to it: instead of failing later, or of
// go-smtp's client dropping the DSN parameters silently.
func checkMail(c *smtp.Client, opts *smtp.MailOptions) error {
	if opts == nil {
		return nil
	}
	rc := capsOf(c)
	// RFC 6531 §3.4: SMTPUTF8 may only be used with a server that
	// announced the extension; barid cannot downgrade the message.
	if opts.UTF8 && !rc.utf8 {
		return errParam("SMTPUTF8", "SMTPUTF8", "RFC 6531")
	}
	// RFC 6152 §3: BODY=8BITMIME needs 8BITMIME along the way; barid
	// does not convert to 7 bit.
	if opts.Body == smtp.Body8BitMIME && !rc.eightBit {
		return errParam("BODY=8BITMIME", "8BITMIME", "RFC 6152")
	}
	// RFC 3461 §4.3, §4.4: RET and ENVID belong to the DSN extension.
	if !rc.dsn {
		if opts.Return != "" {
			return errParam("RET", "DSN", "RFC 3461")
		}
		if opts.EnvelopeID != "" {
			return errParam("ENVID", "DSN", "RFC 3461")
		}
	}
	// RFC 1870 §6.1: a declared size over the relay's fixed maximum is
	// 552 5.3.4 at MAIL.
	if rc.size > 0 && opts.Size > rc.size {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("Message size exceeds the relay's fixed maximum (SIZE %d)", rc.size)}
	}
	return nil
}

// checkRcpt refuses RCPT's DSN parameters (RFC 3461 §4.1, §4.2: NOTIFY
// and ORCPT) when the relay connection c lacks DSN.
func checkRcpt(c *smtp.Client, opts *smtp.RcptOptions) error {
	if opts == nil {
		return nil
	}
	if ok, _ := c.Extension("DSN"); ok {
		return nil
	}
	if len(opts.Notify) > 0 {
		return errParam("NOTIFY", "DSN", "RFC 3461")
	}
	if opts.OriginalRecipient != "" {
		return errParam("ORCPT", "DSN", "RFC 3461")
	}
	return nil
}
