package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SCRAMError is a SCRAM failure with its server-error-value
// (RFC 5802 §7: "invalid-proof", "channel-bindings-dont-match", ...).
// Err is ErrMalformed or ErrAuthFailed.
//
// A server may send "e=<Code>" to the client as a server-final-message,
// but RFC 5802 §5.1 (errata 5271) lets it end the exchange with a plain
// failure instead, which in IMAP saves a round trip: barid's server
// answers NO (or BAD for ErrMalformed) and logs Code.
type SCRAMError struct {
	Code string
	Err  error
}

func (e *SCRAMError) Error() string { return e.Err.Error() + " (SCRAM e=" + e.Code + ")" }
func (e *SCRAMError) Unwrap() error { return e.Err }

func scramMalformed(code string) error { return &SCRAMError{Code: code, Err: ErrMalformed} }

// maxSCRAMMessage bounds one client SCRAM message; real ones are under
// 300 bytes (the largest part is the base64 channel binding).
const maxSCRAMMessage = 4096

// randomNonce returns the server's part of the SCRAM nonce: 18 random
// bytes in base64 (printable, no ","; RFC 5802 §5.1 r=).
func randomNonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return b64.EncodeToString(b)
}

// scramMech is the server side of SCRAM-SHA-1, SCRAM-SHA-256 and their
// -PLUS variants (RFC 5802 §3, §5, §7; RFC 7677; RFC 9266).
type scramMech struct {
	a      *Authenticator
	ctx    context.Context
	remote netip.Addr
	h      scramHash
	name   string
	plus   bool            // the client chose a -PLUS mechanism
	cb     *ChannelBinding // nil: not TLS, so -PLUS was not advertised

	step   int // 0 want client-first, 1 want client-final, 2 want empty ack, 3 over
	asked  bool
	waited time.Duration // the penalty waitPenalty slept at client-first

	gs2Header       string // "n,," etc., echoed in c=
	authzid         string
	user            string
	clientFirstBare string
	serverFirst     string
	nonce           string

	known bool // account exists and has keys for this hash
	id    int64
	keys  *scramKeys
}

func (a *Authenticator) newSCRAM(ctx context.Context, h scramHash, name string, plus bool, remote netip.Addr, cb *ChannelBinding) *scramMech {
	a.logins.Add(1)
	return &scramMech{a: a, ctx: ctx, remote: remote, h: h, name: name, plus: plus, cb: cb}
}

func (m *scramMech) AccountID() int64 { return m.id }
func (m *scramMech) Username() string { return m.user }

func (m *scramMech) Next(resp []byte) ([]byte, bool, error) {
	if m.step < 3 && len(resp) > maxSCRAMMessage {
		m.step = 3
		return nil, false, scramMalformed("other-error")
	}
	switch m.step {
	case 0:
		if resp == nil && !m.asked {
			// SCRAM is client-first (RFC 5802 §5): without an initial
			// response, ask for it with an empty challenge.
			m.asked = true
			return []byte{}, false, nil
		}
		ch, err := m.clientFirst(string(resp))
		if err != nil {
			m.step = 3
			return nil, false, err
		}
		m.step = 1
		return ch, false, nil
	case 1:
		ch, err := m.clientFinal(string(resp))
		if err != nil {
			m.step = 3
			return nil, false, err
		}
		m.step = 2
		return ch, false, nil
	case 2:
		// The client's empty answer to server-final (RFC 4422 §4).
		m.step = 3
		if len(resp) != 0 {
			return nil, false, scramMalformed("other-error")
		}
		return nil, true, nil
	}
	return nil, false, ErrMalformed
}

// clientFirst handles
//
//	client-first-message = gs2-header client-first-message-bare
//	gs2-header      = gs2-cbind-flag "," [ authzid ] ","
//	gs2-cbind-flag  = ("p=" cb-name) / "n" / "y"
//	client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
//
// (RFC 5802 §7) and returns server-first-message
// "r=<c-nonce><s-nonce>,s=<salt>,i=<iterations>".
func (m *scramMech) clientFirst(msg string) ([]byte, error) {
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return nil, scramMalformed("other-error")
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, scramMalformed("other-error")
	}
	m.gs2Header = msg[:len(flag)+1+len(authz)+1]
	m.clientFirstBare = bare

	// Channel-binding negotiation (RFC 5802 §6).
	switch {
	case flag == "n":
		if m.plus {
			return nil, scramMalformed("channel-binding-not-supported")
		}
	case flag == "y":
		if m.plus {
			return nil, scramMalformed("other-error")
		}
		if m.cb != nil {
			// The client can bind but believes we can't: we did advertise
			// -PLUS, so someone stripped it. Downgrade attack; fail.
			m.a.log.Warn("SCRAM channel-binding downgrade detected", "mech", m.name, "remote", m.remote)
			return nil, &SCRAMError{Code: "server-does-support-channel-binding", Err: ErrAuthFailed}
		}
	case strings.HasPrefix(flag, "p="):
		cbName := flag[2:]
		if !m.plus {
			// "p" is only for the -PLUS mechanisms.
			return nil, scramMalformed("channel-binding-not-supported")
		}
		if !validCBName(cbName) {
			return nil, scramMalformed("other-error")
		}
		if m.cb == nil || m.cb.Type == "" || len(m.cb.Data) == 0 || cbName != m.cb.Type {
			return nil, scramMalformed("unsupported-channel-binding-type")
		}
	default:
		return nil, scramMalformed("other-error")
	}
	if authz != "" {
		if !strings.HasPrefix(authz, "a=") {
			return nil, scramMalformed("other-error")
		}
		z, ok := decodeSASLName(authz[2:])
		if !ok {
			return nil, scramMalformed("invalid-username-encoding")
		}
		m.authzid = z
	}

	attrs := strings.Split(bare, ",")
	if strings.HasPrefix(attrs[0], "m=") {
		// reserved-mext: a mandatory extension we don't know (RFC 5802 §5.1).
		return nil, scramMalformed("extensions-not-supported")
	}
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, scramMalformed("other-error")
	}
	user, ok := decodeSASLName(attrs[0][2:])
	if !ok || user == "" || len(user) > maxUsernameLen {
		return nil, scramMalformed("invalid-username-encoding")
	}
	cnonce := attrs[1][2:]
	if !validNonce(cnonce) {
		return nil, scramMalformed("other-error")
	}
	for _, x := range attrs[2:] {
		if !validExtension(x) {
			return nil, scramMalformed("other-error")
		}
	}
	m.user = user

	if err := m.lookup(); err != nil {
		return nil, err
	}
	waited, err := m.a.waitPenalty(m.ctx, m.remote, user)
	if err != nil {
		return nil, err
	}
	m.waited = waited
	m.nonce = cnonce + m.a.nonce()
	m.serverFirst = "r=" + m.nonce + ",s=" + b64.EncodeToString(m.keys.Salt) + ",i=" + strconv.Itoa(m.keys.Iterations)
	return []byte(m.serverFirst), nil
}

// lookup loads the account's SCRAM keys for m.h. For an unknown user, or
// an account without keys for this hash, it invents keys with a salt
// derived from the name under a per-process secret, so the reply looks
// the same and stays the same across attempts: account names can't be
// enumerated from server-first-message. The proof then always fails.
func (m *scramMech) lookup() error {
	id, raw, err := m.a.accts.Secret(m.ctx, m.user)
	switch {
	case errors.Is(err, ErrUnknownUser):
	case err != nil:
		return err
	default:
		s, perr := parseSecret(raw)
		if perr != nil {
			m.a.log.Error("stored secret unreadable", "user", logName(m.user), "err", perr)
			break
		}
		k := s.SHA1
		if m.h.name == hashSHA256.name {
			k = s.SHA256
		}
		if k == nil {
			m.a.log.Info("account has no SCRAM keys", "mech", m.name, "user", logName(m.user))
			break
		}
		m.known, m.id, m.keys = true, id, k
		return nil
	}
	mac := hmac.New(sha256.New, m.a.fakeKey)
	mac.Write([]byte(m.h.name + "\x00" + userKey(m.user)))
	salt := mac.Sum(nil)[:saltLen]
	it := m.a.cfg.Params.SCRAMIterations
	if it < minSCRAMIters {
		it = DefaultParams().SCRAMIterations
	}
	m.keys = &scramKeys{Iterations: it, Salt: salt,
		StoredKey: make([]byte, m.h.size), ServerKey: make([]byte, m.h.size)}
	rand.Read(m.keys.StoredKey)
	rand.Read(m.keys.ServerKey)
	return nil
}

// clientFinal handles
//
//	client-final-message = client-final-message-without-proof "," proof
//	client-final-message-without-proof = channel-binding "," nonce ["," extensions]
//	channel-binding = "c=" base64   ; of gs2-header [ cbind-data ]
//	proof           = "p=" base64
//
// (RFC 5802 §7), verifies the proof (§3) and returns the server-final
// "v=" ServerSignature.
func (m *scramMech) clientFinal(msg string) ([]byte, error) {
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, scramMalformed("other-error")
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, scramMalformed("other-error")
	}
	for _, x := range attrs[2:] {
		if !validExtension(x) {
			return nil, scramMalformed("other-error")
		}
	}
	cbind, err := b64.Strict().DecodeString(attrs[0][2:])
	if err != nil {
		return nil, scramMalformed("invalid-encoding")
	}
	proof, err := b64.Strict().DecodeString(proofB64)
	if err != nil || len(proof) != m.h.size {
		return nil, scramMalformed("invalid-encoding")
	}
	if attrs[1][2:] != m.nonce {
		return nil, scramMalformed("other-error")
	}
	want := []byte(m.gs2Header)
	if m.plus {
		want = append(want, m.cb.Data...)
	}
	if subtle.ConstantTimeCompare(cbind, want) != 1 {
		if m.plus {
			return nil, &SCRAMError{Code: "channel-bindings-dont-match", Err: m.a.fail(m.ctx, m.name, m.remote, m.user, "channel bindings don't match", m.waited)}
		}
		return nil, scramMalformed("channel-bindings-dont-match")
	}

	// RFC 5802 §3:
	//   AuthMessage     := client-first-message-bare + "," +
	//                      server-first-message + "," +
	//                      client-final-message-without-proof
	//   ClientSignature := HMAC(StoredKey, AuthMessage)
	//   ClientKey       := ClientProof XOR ClientSignature
	//   valid iff H(ClientKey) == StoredKey
	authMsg := []byte(m.clientFirstBare + "," + m.serverFirst + "," + withoutProof)
	sig := hmacSum(m.h, m.keys.StoredKey, authMsg)
	for j := range proof {
		proof[j] ^= sig[j]
	}
	hh := m.h.new()
	hh.Write(proof)
	match := subtle.ConstantTimeCompare(hh.Sum(nil), m.keys.StoredKey) == 1
	serverSig := hmacSum(m.h, m.keys.ServerKey, authMsg)
	if !match || !m.known {
		reason := "wrong password"
		if !m.known {
			reason = "unknown user or no SCRAM keys"
		}
		return nil, &SCRAMError{Code: "invalid-proof", Err: m.a.fail(m.ctx, m.name, m.remote, m.user, reason, m.waited)}
	}
	if m.authzid != "" && !sameAccount(m.authzid, m.user) {
		m.a.log.Info("login refused: authzid differs", "mech", m.name, "remote", m.remote,
			"user", logName(m.user), "authzid", logName(m.authzid))
		return nil, &SCRAMError{Code: "other-error", Err: ErrAuthzFailed}
	}
	m.a.log.Info("login", "mech", m.name, "remote", m.remote, "user", logName(m.user))
	return []byte("v=" + b64.EncodeToString(serverSig)), nil
}

// decodeSASLName undoes RFC 5802 §5.1's escaping of saslname: "=2C" is
// ",", "=3D" is "=", and any other "=" (or a raw ",", or NUL) is an
// error. The result must be UTF-8.
func decodeSASLName(s string) (string, bool) {
	if strings.ContainsAny(s, ",\x00") || !utf8.ValidString(s) {
		return "", false
	}
	if !strings.Contains(s, "=") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

// validNonce: c-nonce = printable = %x21-2B / %x2D-7E (RFC 5802 §7).
func validNonce(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// validCBName: cb-name = 1*(ALPHA / DIGIT / "." / "-") (RFC 5802 §7).
func validCBName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validExtension: attr-val = ALPHA "=" value, value without "," or NUL
// (RFC 5802 §7). Unknown optional extensions are ignored.
func validExtension(s string) bool {
	if len(s) < 2 || s[1] != '=' || strings.IndexByte(s, 0) >= 0 {
		return false
	}
	c := s[0]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
