package submission

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"barid/internal/auth"
	"barid/internal/imap/imapurl"
	"barid/internal/store"
	"barid/internal/urlauth"
)

// session is one client connection's SMTP session (go-smtp makes a new
// one after STARTTLS). It implements smtp.Session, smtp.AuthSession,
// smtp.EHLOSession and smtp.BURLSession.
type session struct {
	srv      *Server
	conn     *smtp.Conn
	tc       *trackedConn
	id       string
	log      *slog.Logger
	remote   netip.Addr
	tls      bool
	loopback bool
	ctx      context.Context
	cancel   context.CancelFunc

	acct        *store.Account // nil until AUTH succeeds
	releaseUser func()

	// mu serializes the methods that use the relay: go-smtp runs Data
	// of BDAT and BURL chunks in its own goroutine (for the whole
	// message), and closing the connection calls Logout from whichever
	// goroutine closes it. BURL and EHLOKeywords, which run while Data
	// streams, read only acct, set by AUTH on the connection's goroutine
	// before any transaction.
	mu      sync.Mutex
	relay   *smtp.Client // the smarthost session, opened at the first MAIL
	relayNC atomic.Pointer[net.Conn]
	inTx    bool // a relay transaction (MAIL sent) is open
	rcpts   int
	from    string
	logout  sync.Once
}

var (
	_ smtp.AuthSession       = (*session)(nil)
	_ smtp.EHLOSession       = (*session)(nil)
	_ smtp.EHLOFilterSession = (*session)(nil)
	_ smtp.BURLSession       = (*session)(nil)
)

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	id := fmt.Sprintf("S%d", s.nextID.Add(1))
	nc := c.Conn()
	_, isTLS := c.TLSConnectionState()
	tc := tracked(nc)
	ctx, cancel := context.WithCancel(s.ctx)
	ss := &session{srv: s, conn: c, tc: tc, id: id, remote: remoteAddr(nc), tls: isTLS,
		ctx: ctx, cancel: cancel}
	if tc != nil {
		ss.loopback = tc.loopback
	} else {
		ss.loopback = isLoopback(nc)
	}
	ss.log = s.log.With("conn", id, "remote", nc.RemoteAddr().String(), "tls", isTLS)
	return ss, nil
}

// RFC 4954 §6 replies.
var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errEncryption   = &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11},
		Message: "Encryption required for requested authentication mechanism; use STARTTLS first"}
	errAuthFailed  = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	errAuthzFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authorization identity must be the authentication identity"}
	errAuthTemp    = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}
	errMechanism   = &smtp.SMTPError{Code: 504, EnhancedCode: smtp.EnhancedCode{5, 5, 4}, Message: "Unrecognized authentication type"}
	errMalformed   = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Malformed authentication exchange"}
)

// plaintextAllowed is IMAP's rule (no passwords over an unencrypted
// link except from loopback or when the operator allows it), applied to
// every mechanism as IMAP's LOGINDISABLED does.
func (s *session) plaintextAllowed() bool {
	return s.tls || s.loopback || s.srv.cfg.AllowPlaintextAuth
}

// AuthMechanisms lists the SASL mechanisms for EHLO's AUTH keyword
// (RFC 4954 §3): none where AUTH is refused, so a client knows to
// STARTTLS first.
func (s *session) AuthMechanisms() []string {
	if s.srv.cfg.Auth == nil || !s.plaintextAllowed() {
		return nil
	}
	return s.srv.cfg.Auth.Mechanisms(s.tls)
}

// Auth starts a SASL exchange (RFC 4954 §4) on internal/auth's
// mechanisms, with their failure delays and throttling.
func (s *session) Auth(mech string) (sasl.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.plaintextAllowed() {
		return nil, errEncryption
	}
	if s.srv.cfg.Auth == nil {
		return nil, errAuthTemp
	}
	mech = strings.ToUpper(mech)
	ok := false
	for _, m := range s.srv.cfg.Auth.Mechanisms(s.tls) {
		ok = ok || m == mech
	}
	if !ok {
		return nil, errMechanism
	}
	var cb *auth.ChannelBinding
	if st, ok := s.conn.TLSConnectionState(); ok {
		cb = auth.ChannelBindingFromTLS(&st, nil)
	}
	m, err := s.srv.cfg.Auth.Start(s.ctx, mech, s.remote, cb)
	if err != nil {
		s.srv.metrics.Auth(mech, err)
		return nil, s.authError(err)
	}
	return &saslServer{s: s, m: m, mech: mech}, nil
}

// saslServer adapts an auth.Mechanism to go-smtp's sasl.Server. SCRAM's
// server-final message comes as a challenge (334) that the client
// answers with an empty line before the 235 (RFC 4954 §4).
type saslServer struct {
	s    *session
	m    auth.Mechanism
	mech string
}

func (a *saslServer) Next(resp []byte) ([]byte, bool, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	ch, done, err := a.m.Next(resp)
	if err != nil {
		a.s.srv.metrics.Auth(a.mech, err)
		return nil, false, a.s.authError(err)
	}
	if !done {
		return ch, false, nil
	}
	a.s.srv.metrics.Auth(a.mech, nil)
	if err := a.s.loggedIn(a.m.AccountID()); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

func (s *session) authError(err error) error {
	switch {
	case errors.Is(err, auth.ErrAuthzFailed):
		return errAuthzFailed
	case errors.Is(err, auth.ErrAuthFailed), errors.Is(err, auth.ErrUnknownUser):
		return errAuthFailed
	case errors.Is(err, auth.ErrMalformed):
		var te *auth.TokenSizeError
		if errors.As(err, &te) {
			return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Malformed authentication exchange: " + te.Error()}
		}
		return errMalformed
	case errors.Is(err, auth.ErrUnsupportedMechanism):
		return errMechanism
	case errors.Is(err, auth.ErrThrottled):
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many failed logins; try again later"}
	}
	s.log.Warn("authentication error", "err", err)
	return errAuthTemp
}

// loggedIn records the account and takes its session slot
// (max_conns_per_user, max_conns_per_user_ip), as an IMAP login does.
func (s *session) loggedIn(id int64) error {
	acct, err := s.srv.cfg.Store.AccountByID(s.ctx, id)
	if err != nil {
		s.log.Warn("account lookup after login", "err", err)
		return errAuthTemp
	}
	release, err := s.srv.cfg.Auth.AcquireSession(id, s.remote)
	if err != nil {
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: err.Error()}
	}
	s.acct, s.releaseUser = acct, release
	if s.tc != nil {
		s.tc.loginBy.Store(0) // limits.login_timeout no longer applies
		s.tc.mconn.Set(mAuthenticated)
	}
	s.log = s.log.With("user", acct.Name)
	return nil
}

// EHLOKeywords adds BURL (RFC 4468 §3): before AUTH without arguments
// ("BURL is supported; authenticate to use it"), after AUTH with "imap"
// (IMAP URLs with URLAUTH) and "imap://HOST", the IMAP server this
// submission server resolves URLs of (burl-param = "imap" / ("imap://"
// authority)).
func (s *session) EHLOKeywords() []string {
	if s.srv.cfg.URLAuth == nil {
		return nil
	}
	if s.acct == nil {
		return []string{"BURL"}
	}
	return []string{"BURL imap imap://" + s.srv.cfg.Hostname}
}

// FilterEHLO announces 8BITMIME, SMTPUTF8, DSN and SIZE as the relay
// can carry them (Server.filterEHLO).
func (s *session) FilterEHLO(caps []string) []string { return s.srv.filterEHLO(caps) }

// Mail starts a transaction (RFC 5321 §4.1.1.2): the sender must be the
// account's (RFC 6409 §6.1; "<>" is allowed, for MDNs and the like), and
// the relay must take it.
func (s *session) mail(from string, opts *smtp.MailOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acct == nil {
		return errAuthRequired // RFC 4954 §6
	}
	if s.inTx {
		// RFC 5321 §4.1.1.2: MAIL starts a transaction; one is open.
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Nested MAIL command (RSET first)"}
	}
	if from != "" && !s.srv.sender.Owns(s.acct.Name, from) {
		s.log.Info("sender refused", "from", from)
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("Sender address <%s> is not yours (authenticated as %s)", from, s.acct.Name)}
	}
	if s.tc != nil {
		s.tc.busy.Store(true)
	}
	ro := &smtp.MailOptions{}
	if opts != nil {
		// Passed on: SIZE (RFC 1870), SMTPUTF8 (RFC 6531), RET and
		// ENVID (RFC 3461). BODY=8BITMIME is added by the client when
		// the relay offers it. A client's AUTH= is not passed on.
		ro.Size, ro.UTF8, ro.Return, ro.EnvelopeID = opts.Size, opts.UTF8, opts.Return, opts.EnvelopeID
		ro.Body = opts.Body // checked against the relay (checkMail); the client decides BODY itself
	}
	err := s.relayMail(from, ro)
	if err != nil {
		s.endTx()
		return err
	}
	s.inTx, s.from, s.rcpts = true, from, 0
	return nil
}

// relayMail sends MAIL to the relay, connecting first if needed, and
// reconnecting once if a kept connection turns out to be gone.
func (s *session) relayMail(from string, opts *smtp.MailOptions) error {
	for attempt := 0; ; attempt++ {
		fresh := false
		if s.relay == nil {
			c, nc, err := s.srv.dialRelay(s.ctx)
			if err != nil {
				s.log.Warn("relay", "err", err)
				return err
			}
			s.relay, fresh = c, true
			s.relayNC.Store(&nc)
			s.srv.learnRelay(c)
		}
		// A parameter this relay cannot carry is refused here, with
		// the relay connection kept (no MAIL was sent to it).
		if err := checkMail(s.relay, opts); err != nil {
			s.log.Info("MAIL parameter refused", "err", err)
			return err
		}
		err := s.relay.Mail(from, opts)
		if err == nil {
			return nil
		}
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code != 421 {
			return relayError(err)
		}
		s.relay.Close()
		s.relay = nil
		if fresh || attempt > 0 {
			return relayError(err)
		}
	}
}

// Rcpt passes the recipient to the relay; its answer is the client's
// (RFC 6409 §5).
func (s *session) rcpt(to string, opts *smtp.RcptOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acct == nil {
		return errAuthRequired
	}
	if !s.inTx || s.relay == nil {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	if s.rcpts >= s.srv.cfg.MaxRecipients {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3},
			Message: fmt.Sprintf("Too many recipients (limit submission.max_recipients = %d)", s.srv.cfg.MaxRecipients)}
	}
	ro := &smtp.RcptOptions{}
	if opts != nil {
		// DSN NOTIFY and ORCPT (RFC 3461 §4) are passed on.
		ro.Notify, ro.OriginalRecipientType, ro.OriginalRecipient = opts.Notify, opts.OriginalRecipientType, opts.OriginalRecipient
	}
	if err := checkRcpt(s.relay, ro); err != nil {
		return err
	}
	if err := s.relay.Rcpt(to, ro); err != nil {
		s.dropBrokenRelay(err)
		return relayError(err)
	}
	s.rcpts++
	return nil
}

// Data receives the message (DATA, or BDAT and BURL chunks) and relays
// it: the header block is read first (up to limits.header_size) and its
// From and Sender checked, then header and body are streamed to the
// relay. The client's answer is the relay's.
func (s *session) data(r io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acct == nil {
		return errAuthRequired
	}
	if !s.inTx || s.relay == nil {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	br := bufio.NewReaderSize(r, 32<<10)
	hdr, err := readHeader(br, s.srv.cfg.HeaderSize)
	if err != nil {
		return err
	}
	if why := s.srv.sender.checkHeader(s.acct.Name, hdr); why != "" {
		s.log.Info("message refused", "reason", why)
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: why}
	}
	w, err := s.relay.Data()
	if err != nil {
		s.dropBrokenRelay(err)
		return relayError(err)
	}
	if _, err := w.Write(hdr); err != nil {
		s.dropBrokenRelay(err)
		return relayError(err)
	}
	if _, err := io.Copy(w, br); err != nil {
		// A read error is the client's (gone, or over the size limit):
		// go-smtp answers it. The relay connection is in the middle of
		// DATA and cannot be reused.
		s.relay.Close()
		s.relay = nil
		var se *smtp.SMTPError
		if errors.As(err, &se) || errors.Is(err, smtp.ErrDataReset) || errors.Is(err, smtp.ErrDataTooLarge) {
			return err
		}
		return relayError(err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		s.dropBrokenRelay(err)
		return relayError(err)
	}
	s.inTx = false
	s.log.Info("relayed", "from", s.from, "rcpts", s.rcpts, "relay", resp.StatusText)
	return relayOK(resp.StatusText)
}

// readHeader reads the header block of the message, through the blank
// line that ends it (or to the end of a message that has no body).
func readHeader(br *bufio.Reader, max int) ([]byte, error) {
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		hdr = append(hdr, line...)
		if len(hdr) > max {
			return nil, &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
				Message: fmt.Sprintf("Message header exceeds limits.header_size (%d bytes)", max)}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return hdr, nil
		}
		if err != nil {
			return nil, err
		}
		if bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n")) {
			return hdr, nil
		}
	}
}

// dropBrokenRelay forgets a relay connection that failed with anything
// but an SMTP reply (or with 421: the relay is closing it).
func (s *session) dropBrokenRelay(err error) {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code != 421 {
		return
	}
	if s.relay != nil {
		s.relay.Close()
		s.relay = nil
	}
	s.inTx = false
}

// ParseBURL is the BURL command's syntax (see ParseBURL).
func (s *session) ParseBURL(arg string) (string, bool, error) {
	return ParseBURL(arg)
}

// BURL resolves an IMAP URL in process (RFC 4468 §3.5): a URLAUTH URL
// must grant "submit+USER" for the authenticated USER (RFC 4467 §3), a
// URL without URLAUTH must name the user's own mailbox (the trust
// relationship between this submission server and its own IMAP store,
// which Dovecot allows too); either must name this server's host.
// Failures are RFC 4468 §6's "554 5.6.6 IMAP URL resolution failed".
func (s *session) BURL(raw string) (io.ReadCloser, int64, error) {
	if s.acct == nil {
		return nil, 0, errAuthRequired
	}
	svc := s.srv.cfg.URLAuth
	if svc == nil {
		return nil, 0, &smtp.SMTPError{Code: 502, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "BURL is not available"}
	}
	fail := func(msg string) error {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 6}, Message: "IMAP URL resolution failed: " + msg}
	}
	if len(raw) < 5 || !strings.EqualFold(raw[:5], "imap:") {
		return nil, 0, fail("only imap URLs are supported")
	}
	u, err := imapurl.Parse(raw)
	if err != nil {
		return nil, 0, fail(err.Error())
	}
	var p *urlauth.Part
	if u.Access != "" {
		p, err = svc.Fetch(s.ctx, raw, urlauth.Identity{User: s.acct.Name, Application: "submit"}, urlauth.WantBody)
	} else {
		p, err = svc.Open(s.ctx, s.acct, u, raw, urlauth.WantBody)
	}
	if err != nil {
		var ue *urlauth.Error
		if errors.As(err, &ue) {
			s.log.Info("BURL refused", "err", err)
			return nil, 0, fail(ue.Msg)
		}
		s.log.Warn("BURL", "err", err)
		// RFC 4468 §6: 451 4.4.1 IMAP server unavailable.
		return nil, 0, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 1}, Message: "IMAP server unavailable"}
	}
	return partReader{p}, p.Size, nil
}

type partReader struct{ p *urlauth.Part }

func (r partReader) Read(b []byte) (int, error) { return r.p.Body.Read(b) }
func (r partReader) Close() error               { return r.p.Close() }

// Reset ends the transaction (RSET, a new EHLO, or the end of a
// message, relayed or not); an open relay transaction is reset too.
func (s *session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inTx && s.relay != nil {
		if err := s.relay.Reset(); err != nil {
			s.relay.Close()
			s.relay = nil
		}
	}
	s.endTx()
}

func (s *session) endTx() {
	s.inTx, s.rcpts, s.from = false, 0, ""
	if s.tc != nil {
		s.tc.busy.Store(false)
	}
}

// Logout ends the session: QUIT to the relay, and the account's
// session slot is given back. When another goroutine is inside a
// session method (a BDAT chunk's Data, cut short by the connection
// closing), the relay connection is closed under it instead.
func (s *session) Logout() error {
	s.cancel()
	if !s.mu.TryLock() {
		if nc := s.relayNC.Load(); nc != nil {
			(*nc).Close()
		}
		s.releaseSlot()
		return nil
	}
	defer s.mu.Unlock()
	if s.relay != nil {
		if s.inTx {
			s.relay.Reset()
		}
		s.relay.Quit()
		s.relay.Close()
		s.relay = nil
	}
	s.releaseSlot()
	s.endTx()
	return nil
}

func (s *session) releaseSlot() {
	s.logout.Do(func() {
		if s.releaseUser != nil {
			s.releaseUser()
		}
	})
}
