package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"barid/internal/auth"
	"barid/internal/imap"
	"barid/internal/imap/wire"
)

// RFC 9051 §6.2.1 STARTTLS. Any bytes the client pipelined after the
// command are discarded before the handshake: they arrived in plaintext
// and must not be executed as if they were protected (the STARTTLS
// command-injection class, CVE-2011-0411 and friends).
func handleStartTLS(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if c.tls {
		return &imap.Error{Type: "BAD", Text: "TLS is already active"}
	}
	if c.srv.cfg.TLS == nil {
		return &imap.Error{Type: "NO", Text: "TLS is not configured"}
	}
	c.writeStatus(tag, "OK", "", "Begin TLS negotiation now.")
	if err := c.bw.Flush(); err != nil {
		return &ioError{err}
	}
	if n := c.br.Buffered(); n > 0 {
		c.log.Warn("discarding plaintext pipelined after STARTTLS", "bytes", n)
		c.br.Discard(n)
	}
	tc := tls.Server(c.nc, c.srv.cfg.TLS)
	tc.SetDeadline(time.Now().Add(c.srv.cfg.Limits.LoginTimeout))
	if err := tc.Handshake(); err != nil {
		return &ioError{err}
	}
	tc.SetDeadline(time.Time{})
	c.wdl = time.Time{} // flushKeep arms the write deadline again
	c.nc = tc
	c.tls = true
	c.br = bufio.NewReaderSize(tc, 2048)
	c.bw = bufio.NewWriterSize(c.out(), 2048)
	c.dec = wire.NewDecoder(c.br, c.decoderOptions())
	c.enc = wire.NewEncoder(c.bw)
	return nil
}

// RFC 9051 §6.2.3 LOGIN.
func handleLogin(c *Conn, tag string) error {
	var user, pass string
	if !c.dec.ExpectSP() || !c.dec.ExpectAString(&user) || !c.dec.ExpectSP() || !c.dec.ExpectAString(&pass) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if !c.plaintextAllowed() {
		return &imap.Error{Type: "NO", Code: imap.CodePrivacyRequired, Text: "Plaintext authentication disallowed on non-secure connections; use STARTTLS first"}
	}
	if c.srv.cfg.Auth == nil {
		return &imap.Error{Type: "NO", Code: imap.CodeUnavailable, Text: "Authentication is not configured"}
	}
	id, err := c.srv.cfg.Auth.Plain(c.ctx(), c.remote, user, pass)
	c.authDone("password", err)
	if err != nil {
		return authError(err)
	}
	return c.loggedIn(tag, id)
}

func authError(err error) error {
	switch {
	case errors.Is(err, auth.ErrAuthzFailed):
		return &imap.Error{Type: "NO", Code: imap.CodeAuthorizationFailed, Text: "Authorization failed."}
	case errors.Is(err, auth.ErrAuthFailed), errors.Is(err, auth.ErrUnknownUser):
		return &imap.Error{Type: "NO", Code: imap.CodeAuthenticationFailed, Text: "Authentication failed."}
	case errors.Is(err, auth.ErrMalformed):
		var te *auth.TokenSizeError
		if errors.As(err, &te) {
			return &imap.Error{Type: "BAD", Text: "Malformed authentication exchange: " + te.Error() + "."}
		}
		return &imap.Error{Type: "BAD", Text: "Malformed authentication exchange."}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, auth.ErrThrottled):
		return &imap.Error{Type: "NO", Code: imap.CodeUnavailable, Text: "Too many failed logins; try again later."}
	case errors.Is(err, auth.ErrUnavailable):
		// An account source (directory, passwd-file, SQL) is down:
		// RFC 5530 §3 UNAVAILABLE, never AUTHENTICATIONFAILED.
		return &imap.Error{Type: "NO", Code: imap.CodeUnavailable, Text: "Account directory unavailable; try again later."}
	default:
		var ie *imap.Error
		if errors.As(err, &ie) {
			return ie
		}
		return err
	}
}

// loggedIn moves to the authenticated state.
func (c *Conn) loggedIn(tag string, accountID int64) error {
	acct, err := c.srv.cfg.Store.AccountByID(c.ctx(), accountID)
	if err != nil {
		return err
	}
	release, err := c.srv.cfg.Auth.AcquireSession(accountID, c.remote)
	if err != nil {
		return &imap.Error{Type: "NO", Code: imap.CodeLimit, Text: err.Error()}
	}
	c.releaseUser = release
	c.account = acct
	c.state = StateAuthenticated
	c.log = c.log.With("user", acct.Name)
	if c.srv.cfg.Bus != nil {
		c.sub = c.srv.cfg.Bus.Subscribe(acct.ID)
		// Nothing is selected yet: queue nothing (see deselect/select).
		c.sub.Filter(0)
	}
	c.enc.RawString(tag).RawString(" OK [")
	c.writeCapabilities()
	c.enc.RawString("] Logged in").CRLF()
	c.setResult("OK")
	c.traceOut(tag, "OK", "CAPABILITY", "Logged in")
	return nil
}

// RFC 9051 §6.2.2 AUTHENTICATE, with SASL-IR (RFC 4959).
func handleAuthenticate(c *Conn, tag string) error {
	var mech string
	if !c.dec.ExpectSP() || !c.dec.ExpectAtom(&mech) {
		return c.dec.Err()
	}
	mech = strings.ToUpper(mech)
	var initial []byte
	hasInitial := false
	if c.dec.SP() {
		var ir string
		if !c.dec.ExpectAtom(&ir) {
			return c.dec.Err()
		}
		hasInitial = true
		if ir != "=" {
			b, err := base64.StdEncoding.DecodeString(ir)
			if err != nil {
				return &imap.Error{Type: "BAD", Text: "Invalid base64 in the initial response"}
			}
			initial = b
		} else {
			initial = []byte{}
		}
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if !c.plaintextAllowed() {
		return &imap.Error{Type: "NO", Code: imap.CodePrivacyRequired, Text: "Authentication disallowed on non-secure connections; use STARTTLS first"}
	}
	if c.srv.cfg.Auth == nil {
		return &imap.Error{Type: "NO", Code: imap.CodeUnavailable, Text: "Authentication is not configured"}
	}
	supported := false
	for _, m := range c.mechanisms() {
		if m == mech {
			supported = true
		}
	}
	if !supported {
		return &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "Unsupported authentication mechanism " + mech}
	}
	m, err := c.srv.cfg.Auth.Start(c.ctx(), mech, c.remote, c.channelBinding())
	if err != nil {
		c.authDone(mech, err)
		return authError(err)
	}
	resp := initial
	if !hasInitial {
		resp = nil
	}
	for {
		chal, done, err := m.Next(resp)
		if err != nil {
			c.authDone(mech, err)
			return authError(err)
		}
		if done {
			c.authDone(mech, nil)
			if len(chal) > 0 {
				// Additional data with success goes in a final
				// challenge, answered by an empty response (RFC 9051
				// §6.2.2).
				line, err := c.saslExchange(chal)
				if err != nil {
					return err
				}
				if len(line) != 0 {
					return &imap.Error{Type: "BAD", Text: "Expected an empty response after the final challenge"}
				}
			}
			return c.loggedIn(tag, m.AccountID())
		}
		resp, err = c.saslExchange(chal)
		if err != nil {
			return err
		}
	}
}

// saslExchange sends one "+ challenge" and reads the client's response
// line. "*" cancels the exchange (BAD).
func (c *Conn) saslExchange(chal []byte) ([]byte, error) {
	c.enc.RawString("+ ").RawString(base64.StdEncoding.EncodeToString(chal)).CRLF()
	if err := c.flush(); err != nil {
		return nil, &ioError{err}
	}
	// imaplib writes the response and its CRLF separately: ACK the
	// response when read so Nagle releases the CRLF (internal/quickack).
	c.ack.Arm()
	line, err := c.readRawLine()
	if err != nil {
		var le *wire.LimitError
		if errors.As(err, &le) {
			c.writeBye(le.Error())
		}
		return nil, err
	}
	if line == "*" {
		return nil, &imap.Error{Type: "BAD", Text: "Authentication cancelled by the client"}
	}
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		return nil, &imap.Error{Type: "BAD", Text: "Invalid base64 in the SASL response"}
	}
	return b, nil
}

// readRawLine reads one CRLF-terminated line outside the command grammar
// (SASL responses, IDLE's DONE), bounded by line_length.
func (c *Conn) readRawLine() (string, error) {
	max := c.srv.cfg.Limits.LineLength
	var buf []byte
	for {
		chunk, err := c.br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > max {
			return "", &ioError{&wire.LimitError{Limit: "line_length", Max: int64(max)}}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", &ioError{err}
		}
		break
	}
	s := strings.TrimRight(string(buf), "\r\n")
	return s, nil
}

func (c *Conn) channelBinding() *auth.ChannelBinding {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return auth.ChannelBindingFromTLS(&st, nil)
}
