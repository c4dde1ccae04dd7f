package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"barid/internal/auth"
)

func (c *conn) mechanisms() []string {
	if c.srv.cfg.Auth == nil {
		return nil
	}
	var out []string
	for _, m := range c.srv.cfg.Auth.Mechanisms(c.tls) {
		if auth.IsPlaintext(m) && !c.plaintextAllowed() {
			continue
		}
		out = append(out, m)
	}
	return out
}

// plaintextAllowed is IMAP's rule: no password over an unencrypted link
// except from loopback or with [imap] allow_plaintext_auth.
func (c *conn) plaintextAllowed() bool {
	return c.tls || c.loopback || c.srv.cfg.AllowPlaintextAuth
}

// RFC 5804 §2.2 STARTTLS. Pipelined plaintext after the command is
// dropped (the STARTTLS injection class, CVE-2011-0411); after the
// handshake the capabilities are sent again, followed by OK.
func handleStartTLS(c *conn, _ *Command) error {
	if c.tls {
		c.no("", "TLS is already active.")
		return nil
	}
	if c.srv.cfg.TLS == nil {
		c.no("", "TLS is not configured.")
		return nil
	}
	c.ok("", "Begin TLS negotiation now.")
	if err := c.flush(); err != nil {
		return err
	}
	if n := c.br.Buffered(); n > 0 {
		c.log.Warn("discarding plaintext pipelined after STARTTLS", "bytes", n)
		c.br.Discard(n)
	}
	tc := tls.Server(c.nc, c.srv.cfg.TLS)
	tc.SetDeadline(time.Now().Add(c.srv.cfg.Limits.LoginTimeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("STARTTLS handshake: %w", err)
	}
	tc.SetDeadline(time.Time{})
	c.nc = tc
	c.tls = true
	c.br = bufio.NewReaderSize(tc, 4096)
	c.bw = bufio.NewWriterSize(tc, 4096)
	c.rd.Reset(c.br)
	c.writeCapabilities()
	c.ok("", "TLS negotiation successful.")
	return nil
}

// RFC 5804 §2.1 AUTHENTICATE mechanism [initial-response]. Challenges
// go out as strings holding base64; the client answers each with a
// string, or "*" to cancel. The initial response and each answer are
// base64 (§2.1; "" is an empty response).
func handleAuthenticate(c *conn, cmd *Command) error {
	if c.srv.cfg.Auth == nil {
		c.no("", "Authentication is not configured.")
		return nil
	}
	mech := strings.ToUpper(cmd.Args[0].Str)
	if auth.IsPlaintext(mech) && !c.plaintextAllowed() {
		c.no("ENCRYPT-NEEDED", "Plaintext authentication disallowed on non-secure connections; use STARTTLS first.")
		return nil
	}
	supported := false
	for _, m := range c.mechanisms() {
		supported = supported || m == mech
	}
	if !supported {
		c.no("", "Unsupported authentication mechanism "+clip(mech)+".")
		return nil
	}
	var resp []byte
	if len(cmd.Args) == 2 {
		b, err := base64.StdEncoding.DecodeString(cmd.Args[1].Str)
		if err != nil {
			c.no("", "Invalid base64 in the initial response.")
			return nil
		}
		resp = b
	}
	ctx, cancel := context.WithTimeout(c.ctx(), c.srv.cfg.Limits.LoginTimeout)
	defer cancel()
	m, err := c.srv.cfg.Auth.Start(ctx, mech, c.remote, c.channelBinding())
	if err != nil {
		return c.authFailed(err)
	}
	for {
		chal, done, err := m.Next(resp)
		if err != nil {
			return c.authFailed(err)
		}
		if done {
			return c.loggedIn(m.AccountID(), "")
		}
		if strings.HasPrefix(mech, "SCRAM-") && strings.HasPrefix(string(chal), "v=") {
			// RFC 5804 §2.1: the server's last SASL data goes in
			// the OK, as (SASL "..."), not as a challenge the
			// client must answer.
			if _, done, err := m.Next([]byte{}); err != nil || !done {
				if err == nil {
					err = auth.ErrMalformed
				}
				return c.authFailed(err)
			}
			return c.loggedIn(m.AccountID(), base64.StdEncoding.EncodeToString(chal))
		}
		c.line(Quote(base64.StdEncoding.EncodeToString(chal)))
		if err := c.flush(); err != nil {
			return err
		}
		c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.Limits.LoginTimeout))
		s, ok, err := c.rd.ReadResponse()
		var se *SyntaxError
		if errors.As(err, &se) {
			c.no("", se.Msg)
			return nil
		}
		if err != nil {
			return err
		}
		if !ok {
			c.no("", "Authentication cancelled.")
			return nil
		}
		if resp, err = base64.StdEncoding.DecodeString(s); err != nil {
			c.no("", "Invalid base64 in the SASL response.")
			return nil
		}
	}
}

// authFailed answers a failed login after auth's failure delay.
func (c *conn) authFailed(err error) error {
	var le *auth.LimitError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		c.no("TRYLATER", "Authentication timed out or the server is shutting down.")
	case errors.As(err, &le):
		c.no("TRYLATER", le.Error())
	case errors.Is(err, auth.ErrMalformed):
		c.no("", "Malformed authentication exchange.")
	case errors.Is(err, auth.ErrAuthzFailed):
		c.no("", "Authorization failed.")
	case errors.Is(err, auth.ErrAuthFailed), errors.Is(err, auth.ErrUnknownUser):
		c.no("", "Authentication failed.")
	case errors.Is(err, auth.ErrUnsupportedMechanism):
		c.no("", "Unsupported authentication mechanism.")
	default:
		c.log.Error("managesieve: authentication failed", "err", err)
		c.no("TRYLATER", "Authentication failed: refer to the server log.")
	}
	return nil
}

// loggedIn enters the authenticated state, counted against
// max_conns_per_user and max_conns_per_user_ip like IMAP sessions.
func (c *conn) loggedIn(accountID int64, saslData string) error {
	acct, err := c.srv.cfg.Store.AccountByID(c.ctx(), accountID)
	if err != nil {
		c.log.Error("managesieve: account lookup failed", "err", err)
		c.no("TRYLATER", "Cannot open the account.")
		return nil
	}
	release, err := c.srv.cfg.Auth.AcquireSession(accountID, c.remote)
	if err != nil {
		c.no("TRYLATER", err.Error())
		return nil
	}
	c.account, c.releaseUser, c.state = acct, release, stateAuth
	c.log = c.log.With("user", acct.Name)
	c.log.Debug("managesieve login")
	code := ""
	if saslData != "" {
		code = "SASL " + Quote(saslData)
	}
	c.ok(code, "Logged in.")
	return nil
}

func (c *conn) channelBinding() *auth.ChannelBinding {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return auth.ChannelBindingFromTLS(&st, nil)
}
