package pop3

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

// capabilities lists the RFC 2449 §6 capabilities for the current state.
// USER and SASL are listed only where a login may succeed, and STLS only
// before TLS, as Dovecot does.
func (c *conn) capabilities() []string {
	caps := []string{
		"TOP",            // RFC 2449 §6.1
		"UIDL",           // RFC 2449 §6.2
		"RESP-CODES",     // RFC 2449 §6.4
		"PIPELINING",     // RFC 2449 §6.6
		"AUTH-RESP-CODE", // RFC 3206 §6
	}
	if c.state == stateAuthorization {
		if !c.tls && c.srv.cfg.TLS != nil {
			caps = append(caps, "STLS") // RFC 2595 §4
		}
		if c.plaintextAllowed() && c.srv.cfg.Auth != nil {
			caps = append(caps, "USER") // RFC 2449 §6.8
			caps = append(caps, "SASL "+strings.Join(c.mechanisms(), " "))
		}
	}
	// RFC 2449 §6.9. No LOGIN-DELAY (barid has no minimum time between
	// logins) and no EXPIRE: nothing is removed behind the user's back,
	// and RFC 2449 §6.7 leaves the capability out in that case.
	return append(caps, "IMPLEMENTATION barid")
}

func (c *conn) mechanisms() []string {
	if c.srv.cfg.Auth == nil {
		return nil
	}
	return c.srv.cfg.Auth.Mechanisms(c.tls)
}

// plaintextAllowed is IMAP's rule (internal/imap/server): no password
// over an unencrypted link, except from loopback or when the operator
// allows it.
func (c *conn) plaintextAllowed() bool {
	return c.tls || c.loopback || c.srv.cfg.AllowPlaintextAuth
}

// RFC 2449 §5 CAPA.
func handleCapa(c *conn, cmd Command) error {
	c.reply("+OK Capability list follows")
	for _, cp := range c.capabilities() {
		c.reply(cp)
	}
	c.reply(".")
	return nil
}

const noPlaintext = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use STLS first"

// RFC 1939 §7 USER.
func handleUser(c *conn, cmd Command) error {
	if !c.plaintextAllowed() {
		c.reply(noPlaintext)
		return nil
	}
	if cmd.Arg == "" {
		c.reply("-ERR USER needs a name")
		return nil
	}
	c.user = cmd.Arg
	c.reply("+OK")
	return nil
}

// RFC 1939 §7 PASS. The whole rest of the line is the password (spaces
// included).
func handlePass(c *conn, cmd Command) error {
	if !c.plaintextAllowed() {
		c.reply(noPlaintext)
		return nil
	}
	if c.user == "" {
		c.reply("-ERR No username given.")
		return nil
	}
	if c.srv.cfg.Auth == nil {
		c.reply("-ERR [SYS/PERM] Authentication is not configured")
		return nil
	}
	user := c.user
	c.user = ""
	id, err := c.srv.cfg.Auth.Plain(c.ctx(), c.remote, user, cmd.Arg)
	c.authDone("password", err)
	if err != nil {
		return c.authFailed(err)
	}
	return c.loggedIn(id)
}

// authFailed answers a failed login (RFC 3206 §4 [AUTH]: the
// credentials; [SYS/TEMP]: anything else).
func (c *conn) authFailed(err error) error {
	var le *auth.LimitError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		c.reply("-ERR [SYS/TEMP] Server shutting down.")
	case errors.As(err, &le):
		c.reply("-ERR [SYS/TEMP] " + le.Error())
	case errors.Is(err, auth.ErrMalformed):
		var te *auth.TokenSizeError
		if errors.As(err, &te) {
			c.reply("-ERR [AUTH] Malformed authentication exchange: " + te.Error() + ".")
			break
		}
		c.reply("-ERR [AUTH] Malformed authentication exchange.")
	case errors.Is(err, auth.ErrAuthzFailed):
		c.reply("-ERR [AUTH] Authorization failed.")
	case errors.Is(err, auth.ErrAuthFailed), errors.Is(err, auth.ErrUnknownUser):
		c.reply("-ERR [AUTH] Authentication failed.")
	case errors.Is(err, auth.ErrUnsupportedMechanism):
		c.reply("-ERR [AUTH] Unsupported authentication mechanism.")
	default:
		c.log.Error("authentication failed", "err", err)
		c.reply("-ERR [SYS/TEMP] Authentication failed: refer to the server log")
	}
	return nil
}

// loggedIn enters the TRANSACTION state: the per-user connection limit,
// then the maildrop lock and snapshot (RFC 1939 §4).
func (c *conn) loggedIn(accountID int64) error {
	ctx := c.ctx()
	acct, err := c.srv.cfg.Store.AccountByID(ctx, accountID)
	if err != nil {
		c.storeError("Cannot open the account", err)
		return nil
	}
	release, err := c.srv.cfg.Auth.AcquireUser(accountID)
	if err != nil {
		// RFC 2449 §8.1.2 IN-USE; the text names the limit
		// (max_conns_per_user), as Dovecot answers its own limit.
		c.reply("-ERR [IN-USE] " + err.Error())
		return nil
	}
	d, err := c.srv.openMaildrop(ctx, accountID)
	if errors.Is(err, errInUse) {
		release()
		c.log.Info("pop3 maildrop in use", "user", acct.Name)
		c.reply("-ERR [IN-USE] Mailbox is locked by another POP3 session.")
		return nil
	}
	if err != nil {
		release()
		c.storeError("Cannot open INBOX", err)
		return nil
	}
	c.account, c.releaseUser, c.drop = acct, release, d
	c.state = stateTransaction
	c.noteLogin(acct.Name)
	c.log = c.log.With("user", acct.Name)
	c.log.Debug("pop3 login", "messages", len(d.uids), "octets", d.total)
	c.reply("+OK Logged in.")
	return nil
}

// RFC 5034 AUTH mechanism [initial-response]. Without a mechanism, the
// list of mechanisms (what Outlook probes with, as Dovecot answers).
func handleAuth(c *conn, cmd Command) error {
	args := cmd.Args()
	if len(args) == 0 {
		if c.plaintextAllowed() {
			c.reply("+OK")
			for _, m := range c.mechanisms() {
				c.reply(m)
			}
			c.reply(".")
		} else {
			c.reply(noPlaintext)
		}
		return nil
	}
	if len(args) > 2 {
		c.reply("-ERR AUTH takes a mechanism and an optional initial response")
		return nil
	}
	if !c.plaintextAllowed() {
		c.reply(noPlaintext)
		return nil
	}
	if c.srv.cfg.Auth == nil {
		c.reply("-ERR [SYS/PERM] Authentication is not configured")
		return nil
	}
	mech := strings.ToUpper(args[0])
	supported := false
	for _, m := range c.mechanisms() {
		supported = supported || m == mech
	}
	if !supported {
		c.reply("-ERR [AUTH] Unsupported authentication mechanism " + clip(mech))
		return nil
	}
	var resp []byte
	if len(args) == 2 {
		// RFC 5034 §4: "=" is an empty initial response.
		resp = []byte{}
		if args[1] != "=" {
			b, err := base64.StdEncoding.DecodeString(args[1])
			if err != nil {
				c.reply("-ERR [AUTH] Invalid base64 in the initial response")
				return nil
			}
			resp = b
		}
	}
	m, err := c.srv.cfg.Auth.Start(c.ctx(), mech, c.remote, c.channelBinding())
	if err != nil {
		c.authDone(mech, err)
		return c.authFailed(err)
	}
	for {
		chal, done, err := m.Next(resp)
		if err != nil {
			c.authDone(mech, err)
			return c.authFailed(err)
		}
		if done {
			c.authDone(mech, nil)
			if len(chal) > 0 {
				// Additional data with success goes in a last
				// challenge, answered by an empty line (RFC 5034 §4).
				line, ok, err := c.saslExchange(chal)
				if err != nil || !ok {
					return err
				}
				if len(line) != 0 {
					c.reply("-ERR [AUTH] Expected an empty response after the final challenge")
					return nil
				}
			}
			return c.loggedIn(m.AccountID())
		}
		var ok bool
		resp, ok, err = c.saslExchange(chal)
		if err != nil || !ok {
			return err
		}
	}
}

// saslExchange sends "+ challenge" and reads the response line. ok is
// false when it has replied -ERR (cancelled with "*", bad base64).
func (c *conn) saslExchange(chal []byte) (resp []byte, ok bool, err error) {
	c.reply("+ " + base64.StdEncoding.EncodeToString(chal))
	if err := c.flush(); err != nil {
		return nil, false, err
	}
	// A client with Nagle on may send the response and its CRLF in two
	// writes: ACK the response when read (internal/quickack).
	c.ack.Arm()
	line, err := c.readLine()
	if err != nil {
		return nil, false, err
	}
	s := strings.TrimRight(string(line), "\r\n")
	if s == "*" {
		// RFC 5034 §4: the client cancelled.
		c.reply("-ERR [AUTH] Authentication cancelled by the client")
		return nil, false, nil
	}
	b, derr := base64.StdEncoding.DecodeString(s)
	if derr != nil {
		c.reply("-ERR [AUTH] Invalid base64 in the SASL response")
		return nil, false, nil
	}
	return b, true, nil
}

func (c *conn) channelBinding() *auth.ChannelBinding {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return auth.ChannelBindingFromTLS(&st, nil)
}

// RFC 2595 §4 STLS. Bytes the client pipelined after the command are
// dropped before the handshake: they came in the clear and must not run
// as if protected (the STARTTLS command-injection class,
// CVE-2011-0411). The USER name given before is forgotten too.
func handleSTLS(c *conn, cmd Command) error {
	if c.tls {
		c.reply("-ERR TLS is already active")
		return nil
	}
	if c.srv.cfg.TLS == nil {
		c.reply("-ERR TLS is not configured")
		return nil
	}
	c.reply("+OK Begin TLS negotiation now.")
	if err := c.flush(); err != nil {
		return err
	}
	if n := c.br.Buffered(); n > 0 {
		c.log.Warn("discarding plaintext pipelined after STLS", "bytes", n)
		c.br.Discard(n)
	}
	tc := tls.Server(c.nc, c.srv.cfg.TLS)
	tc.SetDeadline(time.Now().Add(c.srv.cfg.Limits.LoginTimeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("STLS handshake: %w", err)
	}
	tc.SetDeadline(time.Time{})
	c.nc = tc
	c.tls = true
	c.user = ""
	c.br = bufio.NewReaderSize(tc, 2048)
	c.bw = bufio.NewWriterSize(tc, 2048)
	return nil
}
