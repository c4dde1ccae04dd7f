package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"barid/internal/store"
)

// Protocol names, as app passwords restrict them and as protocol
// servers announce themselves with WithProtocol.
const (
	ProtoIMAP  = "imap"
	ProtoPOP3  = "pop3"
	ProtoSMTP  = "smtp" // submission
	ProtoSieve = "sieve"
)

// KnownProtocols are the names an app password may be restricted to.
var KnownProtocols = []string{ProtoIMAP, ProtoPOP3, ProtoSMTP, ProtoSieve}

type protoKey struct{}

// WithProtocol marks ctx as belonging to a connection of protocol p
// (ProtoIMAP, …). Each protocol server sets it on its base context; the
// Authenticator reads it to check an app password's protocols.
func WithProtocol(ctx context.Context, p string) context.Context {
	return context.WithValue(ctx, protoKey{}, p)
}

// ProtocolFrom returns the protocol WithProtocol set, or "".
func ProtocolFrom(ctx context.Context) string {
	p, _ := ctx.Value(protoKey{}).(string)
	return p
}

// App passwords are 24 characters of lower-case RFC 4648 base32
// (120 random bits), shown in groups of four: "abcd-efgh-…". They are
// stored as SHA-256: a random 120-bit secret cannot be guessed, so a
// slow hash would add nothing but cost, and a hash index finds one
// without trying each of the account's.
const (
	appPassChars   = 24
	appPassAlpha   = "abcdefghijklmnopqrstuvwxyz234567"
	maxAppPassword = 64 // longer input is not an app password
)

// NewAppPassword returns a random app password and the hash to store.
func NewAppPassword() (password string, hash []byte) {
	b := make([]byte, appPassChars)
	rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(appPassAlpha[c&31])
	}
	password = sb.String()
	h, _ := AppPasswordHash(password)
	return password, h
}

// AppPasswordHash normalizes an app password as typed (case, dashes
// and spaces do not matter) and returns its hash; ok is false when it
// cannot be an app password.
func AppPasswordHash(password string) (hash []byte, ok bool) {
	if len(password) > maxAppPassword {
		return nil, false
	}
	var b []byte
	for i := 0; i < len(password); i++ {
		c := password[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if strings.IndexByte(appPassAlpha, c) < 0 {
			return nil, false
		}
		b = append(b, c)
	}
	if len(b) != appPassChars {
		return nil, false
	}
	s := sha256.Sum256(b)
	return s[:], true
}

// ParseProtocols reads a --protocols list ("imap,pop3,smtp"); empty
// means every protocol.
func ParseProtocols(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p == "submission" {
			p = ProtoSMTP
		}
		if !slices.Contains(KnownProtocols, p) {
			return nil, fmt.Errorf("unknown protocol %q (known: %s)", p, strings.Join(KnownProtocols, ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// appPassword checks password as an app password of the account
// username names, for the protocol of ctx. ok=false: it is not one
// (the caller goes on with the account's own password).
func (d *Directory) appPassword(ctx context.Context, username, password string) (id int64, ok bool, err error) {
	aps, isAP := d.Store.(store.AppPasswords)
	hash, could := AppPasswordHash(password)
	if !isAP || !could {
		return 0, false, nil
	}
	p, err := aps.AppPasswordByHash(ctx, hash)
	if errors.Is(err, store.ErrNoAppPassword) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("%w: app passwords: %v", ErrUnavailable, err)
	}
	acct, err := d.Store.Account(ctx, store.NormalizeAccountName(username))
	switch {
	case err == nil && isExternalSecret(acct.Secret):
		// A directory user: the directory must still know it (enabled),
		// under this name.
		acct, err = d.FindAccount(ctx, username)
	case errors.Is(err, store.ErrNoAccount):
		acct, err = d.FindAccount(ctx, username)
	}
	if errors.Is(err, store.ErrNoAccount) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if acct.ID != p.AccountID {
		return 0, false, nil
	}
	if len(p.Protocols) > 0 && !slices.Contains(p.Protocols, ProtocolFrom(ctx)) {
		d.Logger.Info("app password refused for this protocol", "user", logName(username), "label", p.Label,
			"protocol", ProtocolFrom(ctx))
		return 0, false, nil
	}
	d.Logger.Debug("app password accepted", "user", logName(username), "label", p.Label, "protocol", ProtocolFrom(ctx))
	return acct.ID, true, nil
}
