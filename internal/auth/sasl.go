package auth

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"strings"

	"github.com/emersion/go-sasl"
)

// SASL mechanism names (IANA SASL registry).
const (
	MechPlain           = "PLAIN"                // RFC 4616
	MechLogin           = "LOGIN"                // draft-murchison-sasl-login
	MechSCRAMSHA1       = scramSHA1Name          // RFC 5802
	MechSCRAMSHA1Plus   = scramSHA1PlusName      // RFC 5802 §6
	MechSCRAMSHA256     = scramSHA256Name        // RFC 7677
	MechSCRAMSHA256Plus = scramSHA256Plus        // RFC 7677, RFC 9266
	cbExporter          = "tls-exporter"         // RFC 9266 §2
	cbServerEndPoint    = "tls-server-end-point" // RFC 5929 §4
)

// Mechanism is one server side of a SASL exchange (RFC 4422 §3),
// independent of IMAP framing. The server base64-decodes each client
// line and passes it to Next; it sends each challenge as
// "+ " base64(challenge) (an empty challenge as "+ "), RFC 9051 §6.2.2.
type Mechanism interface {
	// Next consumes one client response and returns what to do next.
	//
	// The first call gets the SASL-IR initial response (RFC 4959 §3:
	// "=" decodes to an empty, non-nil slice) or nil if the client sent
	// none; a mechanism that needs one then returns an empty challenge.
	//
	// err != nil: the exchange failed and is over. ErrAuthFailed (and
	// ErrAuthzFailed, which matches it) means rejected credentials, sent
	// after the failure delay; ErrMalformed means the client broke the
	// mechanism's syntax; a *SCRAMError wraps one of those with the
	// RFC 5802 e= code; ctx errors mean the wait was cancelled; anything
	// else is a server fault (store unavailable).
	//
	// done=true: success; challenge is then always nil and the server
	// sends the tagged OK. The tagged OK of AUTHENTICATE carries no SASL
	// data (RFC 3501 and RFC 9051 §6.2.2), so "additional data with
	// success" (RFC 4422 §3.6, §4) goes as a final challenge that the
	// client answers with an empty response; Dovecot does the same, and
	// it is what every RFC 3501 client expects. So SCRAM's server-final
	// "v=..." comes back as an ordinary challenge with done=false; the
	// client sends an empty line, and the next Next returns done=true.
	//
	// Cancellation ("*", RFC 9051 §6.2.2) is the server's job: it simply
	// stops calling Next and answers BAD. Calling Next after done or an
	// error returns ErrMalformed.
	Next(response []byte) (challenge []byte, done bool, err error)
	// AccountID is the authenticated account, valid once done.
	AccountID() int64
	// Username is the authentication identity the client gave (valid
	// once done; for logging and the session).
	Username() string
}

// ChannelBinding is the TLS channel-binding data of one connection
// (RFC 5056; types from RFC 9266 §2 and RFC 5929 §4). The server passes
// nil to Start when the connection is not TLS, and non-nil whenever it is
// (even with empty Data), matching Mechanisms(tls).
type ChannelBinding struct {
	Type string // "tls-exporter" or "tls-server-end-point"; "" if none usable
	Data []byte
}

// ChannelBindingFromTLS computes the channel binding for a server-side
// TLS connection. leaf is the certificate the server presented (the
// server side's ConnectionState does not include it; pass nil if
// unknown).
//
//   - TLS 1.3: tls-exporter, ExportKeyingMaterial("EXPORTER-Channel-Binding",
//     nil, 32) (RFC 9266 §2, the default for TLS 1.3, RFC 9266 §3).
//   - TLS 1.2: tls-server-end-point over leaf (RFC 5929 §4.1), or
//     tls-exporter if leaf is nil and the handshake used Extended
//     Master Secret (RFC 9266 §3 forbids it without EMS; Go's
//     ExportKeyingMaterial refuses then).
//
// The result is never nil for a non-nil cs; its Type is "" when no
// binding is available, and then -PLUS logins fail.
func ChannelBindingFromTLS(cs *tls.ConnectionState, leaf *x509.Certificate) *ChannelBinding {
	if cs == nil {
		return nil
	}
	exporter := func() *ChannelBinding {
		d, err := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
		if err != nil {
			return nil
		}
		return &ChannelBinding{Type: cbExporter, Data: d}
	}
	if cs.Version >= tls.VersionTLS13 {
		if cb := exporter(); cb != nil {
			return cb
		}
	}
	if leaf != nil {
		if d := serverEndPoint(leaf); d != nil {
			return &ChannelBinding{Type: cbServerEndPoint, Data: d}
		}
	}
	if cb := exporter(); cb != nil {
		return cb
	}
	return &ChannelBinding{}
}

// serverEndPoint is the tls-server-end-point data: the certificate hashed
// with its signature's hash, MD5 and SHA-1 replaced by SHA-256
// (RFC 5929 §4.1). Nil for signature algorithms without a single hash
// (Ed25519), for which the binding is undefined.
func serverEndPoint(c *x509.Certificate) []byte {
	var h crypto.Hash
	switch c.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256, x509.DSAWithSHA256:
		h = crypto.SHA256
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = crypto.SHA512
	default:
		return nil
	}
	w := h.New()
	w.Write(c.Raw)
	return w.Sum(nil)
}

// Mechanisms lists the SASL mechanisms to advertise as AUTH=
// capabilities (RFC 9051 §6.2.2), strongest first. The -PLUS variants are
// offered only with TLS (RFC 5802 §6). PLAIN and LOGIN are always in the
// list: a server that refuses cleartext passwords on this connection
// (LOGINDISABLED, RFC 9051 §6.2.3) must drop them (see IsPlaintext) and
// refuse them in AUTHENTICATE.
//
// With directory sources configured ([auth] sources other than
// builtin), SCRAM is not offered: a directory keeps no SCRAM keys, and
// clients that pick the strongest mechanism offered (mbsync, mutt)
// would fail for every directory user; Dovecot admins leave SCRAM out of
// auth_mechanisms with an LDAP passdb for the same reason. OAUTHBEARER
// and XOAUTH2 are offered on TLS connections when a token verifier is
// configured (RFC 7628 §5: bearer tokens need TLS).
func (a *Authenticator) Mechanisms(tls bool) []string {
	var m []string
	if !a.cfg.Directory.external() {
		if tls {
			m = append(m, MechSCRAMSHA256Plus, MechSCRAMSHA256, MechSCRAMSHA1Plus, MechSCRAMSHA1)
		} else {
			m = append(m, MechSCRAMSHA256, MechSCRAMSHA1)
		}
	}
	m = append(m, MechPlain, MechLogin)
	if tls && a.cfg.OAuth != nil {
		m = append(m, MechOAuthBearer, MechXOAuth2)
	}
	return m
}

// IsPlaintext reports whether mech sends the password itself (PLAIN,
// LOGIN), which needs TLS or an explicit allowance.
func IsPlaintext(mech string) bool {
	m := strings.ToUpper(mech)
	return m == MechPlain || m == MechLogin || m == MechOAuthBearer || m == MechXOAuth2
}

// Start begins a SASL exchange for mech (case-insensitive) with the
// client at remote. cb is the connection's channel binding: nil when the
// connection is not TLS (then -PLUS is refused), non-nil when it is (then
// a SCRAM client that says "y" is refused, RFC 5802 §6). ctx bounds the
// whole exchange, including failure delays inside Next.
func (a *Authenticator) Start(ctx context.Context, mech string, remote netip.Addr, cb *ChannelBinding) (Mechanism, error) {
	switch strings.ToUpper(mech) {
	case MechOAuthBearer, MechXOAuth2:
		if cb == nil || a.cfg.OAuth == nil {
			return nil, ErrUnsupportedMechanism
		}
		return &bearerMech{a: a, ctx: ctx, remote: remote, xoauth: strings.ToUpper(mech) == MechXOAuth2}, nil
	case MechPlain:
		m := &plainMech{a: a, ctx: ctx, remote: remote}
		m.srv = sasl.NewPlainServer(m.check)
		return m, nil
	case MechLogin:
		return &loginMech{a: a, ctx: ctx, remote: remote}, nil
	case MechSCRAMSHA1:
		return a.newSCRAM(ctx, hashSHA1, MechSCRAMSHA1, false, remote, cb), nil
	case MechSCRAMSHA256:
		return a.newSCRAM(ctx, hashSHA256, MechSCRAMSHA256, false, remote, cb), nil
	case MechSCRAMSHA1Plus, MechSCRAMSHA256Plus:
		if cb == nil {
			return nil, ErrUnsupportedMechanism
		}
		if strings.ToUpper(mech) == MechSCRAMSHA1Plus {
			return a.newSCRAM(ctx, hashSHA1, MechSCRAMSHA1Plus, true, remote, cb), nil
		}
		return a.newSCRAM(ctx, hashSHA256, MechSCRAMSHA256Plus, true, remote, cb), nil
	}
	return nil, ErrUnsupportedMechanism
}

// plainMech is PLAIN (RFC 4616) on go-sasl's server, which parses
// "[authzid] NUL authcid NUL passwd" and calls check.
type plainMech struct {
	a      *Authenticator
	ctx    context.Context
	remote netip.Addr
	srv    sasl.Server
	over   bool
	cbErr  error // the error check returned, to tell it from go-sasl's own
	id     int64
	user   string
}

func (m *plainMech) check(authzid, authcid, password string) error {
	id, err := m.a.plain(m.ctx, MechPlain, m.remote, authzid, authcid, password)
	if err != nil {
		m.cbErr = err
		return err
	}
	m.id, m.user = id, authcid
	return nil
}

func (m *plainMech) Next(resp []byte) ([]byte, bool, error) {
	if m.over {
		return nil, false, ErrMalformed
	}
	if len(resp) > maxUsernameLen*2+maxPasswordLen+2 {
		m.over = true
		return nil, false, ErrMalformed
	}
	ch, done, err := m.srv.Next(resp)
	switch {
	case m.cbErr != nil:
		m.over = true
		return nil, false, m.cbErr
	case err != nil:
		m.over = true
		return nil, false, ErrMalformed
	case done:
		m.over = true
		return nil, true, nil
	}
	return ch, false, nil
}

func (m *plainMech) AccountID() int64 { return m.id }
func (m *plainMech) Username() string { return m.user }

// loginMech is the obsolete LOGIN mechanism (draft-murchison-sasl-login-00,
// still used by some clients, e.g. older Outlook): the server prompts
// "Username:" and "Password:" and the client answers each. An initial
// response is the username.
type loginMech struct {
	a      *Authenticator
	ctx    context.Context
	remote netip.Addr
	step   int // 0 start, 1 want username, 2 want password, 3 over
	name   string
	id     int64
	user   string
}

func (m *loginMech) Next(resp []byte) ([]byte, bool, error) {
	switch m.step {
	case 0:
		if resp == nil {
			m.step = 1
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		if len(resp) > maxUsernameLen {
			m.step = 3
			return nil, false, ErrMalformed
		}
		m.name = string(resp)
		m.step = 2
		return []byte("Password:"), false, nil
	case 2:
		m.step = 3
		if len(resp) > maxPasswordLen {
			return nil, false, ErrMalformed
		}
		id, err := m.a.plain(m.ctx, MechLogin, m.remote, "", m.name, string(resp))
		if err != nil {
			return nil, false, err
		}
		m.id, m.user = id, m.name
		return nil, true, nil
	}
	return nil, false, ErrMalformed
}

func (m *loginMech) AccountID() int64 { return m.id }
func (m *loginMech) Username() string { return m.user }
