// Package urlauth resolves IMAP URLs (RFC 5092) to message content, in
// process: the URLs a CATENATE part names (RFC 4469 §5), the
// URLAUTH-authorized URLs of URLFETCH (RFC 4467 §3.3, RFC 5524), and,
// later, BURL (RFC 4468) for a submission server, which calls Fetch
// with its own Identity instead of going through an IMAP connection.
//
// It also signs URLs (GENURLAUTH) and forgets keys (RESETKEY) with the
// INTERNAL mechanism (RFC 4467 §7): each mailbox has a random 256-bit
// access key (store.URLAuthKeys), and a token is, as Dovecot forms it,
// one version byte 0x01 followed by HMAC-SHA1(key, rump URL), written
// as lower-case hex after ":internal:". Tokens are compared in constant
// time (crypto/hmac.Equal), and a URL whose user or mailbox does not
// exist is still checked against a random key (RFC 4467 §7: no timing
// hint of which mailboxes exist).
//
// The protocol packages stay thin: they parse the command, call
// Service, and render what it returns.
package urlauth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"barid/internal/blob"
	"barid/internal/imap"
	"barid/internal/imap/imapurl"
	"barid/internal/imap/msgdata"
	"barid/internal/mail/mime"
	"barid/internal/store"
)

// Mechanism is the one authorization mechanism barid offers (RFC 4467
// §7 "INTERNAL").
const Mechanism = "INTERNAL"

// tokenVersion is the first byte of an INTERNAL token (Dovecot's
// IMAP_URLAUTH_MECH_INTERNAL_VERSION), so the form can change later.
const tokenVersion = 0x01

// keySize is the size of a mailbox access key (RFC 4467 §7: at least
// 128 bits).
const keySize = 32

// Errors. Every error Service returns wraps one of these, with a text
// fit for the client (the IMAP layer maps them: ErrSyntax -> BAD,
// others -> NO, or NIL for one URL of URLFETCH).
var (
	ErrSyntax      = errors.New("invalid URL")                   // not an acceptable URL for the command
	ErrUnsupported = errors.New("unsupported URLAUTH mechanism") // only INTERNAL
	ErrNotFound    = errors.New("no such message")               // mailbox, UIDVALIDITY or UID
	ErrDenied      = errors.New("not permitted")                 // access identifier, user, or token
	ErrExpired     = errors.New("URLAUTH has expired")           // ;EXPIRE= in the past
	ErrNoKeys      = errors.New("URLAUTH is not available")      // store without URLAuthKeys
	// ErrUndecodable: BINARY of a part whose encoding is unknown or
	// broken (RFC 5524 §3.2: the BINARY item is then NIL).
	ErrUndecodable = errors.New("cannot decode the part")
)

// Error carries a kind (one of the errors above) and a text.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, a ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, a...)}
}

// Service resolves and signs IMAP URLs for the accounts of one store.
type Service struct {
	Store store.Store
	Blobs blob.Store
	// Now is the clock for ;EXPIRE= (nil: time.Now).
	Now func() time.Time
	// Hosts, when not empty, lists the host names (compared
	// case-insensitively) that URLs must name to be this server's. Empty
	// accepts any host: a token covers the whole rump URL, host
	// included, so a URL for another server never verifies here anyway.
	Hosts []string
}

// Identity is who asks for a URL's content (RFC 4467 §3: the access
// identifier decides who may).
type Identity struct {
	// User is the account name the requester authenticated as; "" for
	// an anonymous requester.
	User string
	// Application is "" for an IMAP session and "submit" for the
	// submission server acting for User (BURL, RFC 4468).
	Application string
}

// Want says what the caller wants of a URL's part (RFC 5524 §3).
type Want uint8

const (
	WantBody      Want = 1 << iota // the bytes as stored (RFC 4467 URLFETCH, CATENATE)
	WantBinary                     // the part decoded from its Content-Transfer-Encoding
	WantStructure                  // the part's BODYSTRUCTURE ("BODYPARTSTRUCTURE")
)

// Part is what a URL names. Close it when done with Body.
type Part struct {
	// Body reads Size bytes: the section as stored (WantBody) or
	// decoded (WantBinary), with ;PARTIAL= applied. nil if neither was
	// wanted.
	Body io.Reader
	Size int64
	// Structure is the extended BODYSTRUCTURE of the part (WantStructure).
	Structure []byte
	closer    io.Closer
}

// Close releases the message bytes Body reads from.
func (p *Part) Close() error {
	if p == nil || p.closer == nil {
		return nil
	}
	c := p.closer
	p.closer = nil
	return c.Close()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) keys() (store.URLAuthKeys, error) {
	k, ok := s.Store.(store.URLAuthKeys)
	if !ok {
		return nil, fail(ErrNoKeys, "URLAUTH is not available with this store")
	}
	return k, nil
}

// Available reports whether the store keeps access keys, so URLAUTH can
// be offered.
func (s *Service) Available() bool {
	_, ok := s.Store.(store.URLAuthKeys)
	return ok
}

func (s *Service) checkHost(u *imapurl.URL) error {
	if len(s.Hosts) == 0 {
		return nil
	}
	for _, h := range s.Hosts {
		if strings.EqualFold(h, u.Host) {
			return nil
		}
	}
	return fail(ErrSyntax, "Invalid URL: not a URL of this server (host %s)", u.Host)
}

// Generate signs a rump URL for acct (RFC 4467 §3.2 GENURLAUTH): the
// URL must name a message of one of acct's mailboxes, carry
// ;URLAUTH=<access> and no token, and not have expired. The result is
// the rump followed by ":internal:" and the token.
func (s *Service) Generate(ctx context.Context, acct *store.Account, rump, mechanism string) (string, error) {
	if !strings.EqualFold(mechanism, Mechanism) {
		return "", fail(ErrUnsupported, "Unsupported URLAUTH mechanism: %s", mechanism)
	}
	ks, err := s.keys()
	if err != nil {
		return "", err
	}
	u, err := imapurl.Parse(rump)
	if err != nil {
		return "", fail(ErrSyntax, "Invalid URL: %v", err)
	}
	if !u.HasCommand || u.UID == 0 || u.HasSearch || u.Access == "" || u.Mechanism != "" {
		return "", fail(ErrSyntax, "Invalid URL: must be a URLAUTH rump URL naming a message")
	}
	if !u.Expire.IsZero() && s.now().After(u.Expire) {
		return "", fail(ErrExpired, "URLAUTH has already expired")
	}
	if u.User == "" {
		return "", fail(ErrSyntax, "Invalid URL: missing user name")
	}
	if store.NormalizeAccountName(u.User) != acct.Name {
		return "", fail(ErrDenied, "Not permitted to generate URLAUTH for user %s", u.User)
	}
	if err := s.checkHost(u); err != nil {
		return "", err
	}
	mb, err := s.mailbox(ctx, acct.ID, u)
	if err != nil {
		return "", err
	}
	p, err := s.open(ctx, mb, u, 0)
	if err != nil {
		return "", err
	}
	p.Close()
	fresh := make([]byte, keySize)
	rand.Read(fresh)
	key, err := ks.URLAuthKey(ctx, mb.ID, fresh)
	if err != nil {
		return "", err
	}
	return rump + ":" + strings.ToLower(Mechanism) + ":" + hex.EncodeToString(token(key, u.Rump)), nil
}

// token is the INTERNAL token of rump under key.
func token(key []byte, rump string) []byte {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(rump))
	return m.Sum([]byte{tokenVersion})
}

// Fetch returns what an URLAUTH-authorized URL names, for id (RFC 4467
// §3.3 URLFETCH, RFC 5524, and BURL). It checks, in order: the URL's
// form, the mechanism, ;EXPIRE=, that the access identifier admits id,
// the host, then the token against the key of the mailbox the URL
// names (an unknown user or mailbox is checked against a random key);
// only then does it look at the message.
func (s *Service) Fetch(ctx context.Context, raw string, id Identity, want Want) (*Part, error) {
	ks, err := s.keys()
	if err != nil {
		return nil, err
	}
	u, err := imapurl.Parse(raw)
	if err != nil {
		return nil, fail(ErrSyntax, "Invalid URL: %v", err)
	}
	if !u.HasCommand || u.UID == 0 || u.HasSearch || u.Access == "" || u.Mechanism == "" {
		return nil, fail(ErrSyntax, "Invalid URL: must be a full URLAUTH URL")
	}
	if u.User == "" {
		return nil, fail(ErrSyntax, "Invalid URLAUTH: missing user name")
	}
	if u.Mechanism != Mechanism {
		return nil, fail(ErrUnsupported, "Unsupported URLAUTH mechanism: %s", u.Mechanism)
	}
	if !u.Expire.IsZero() && s.now().After(u.Expire) {
		return nil, fail(ErrExpired, "URLAUTH has expired")
	}
	if err := checkAccess(u, id); err != nil {
		return nil, err
	}
	if err := s.checkHost(u); err != nil {
		return nil, err
	}
	var key []byte
	var mb *store.Mailbox
	acct, err := s.Store.Account(ctx, u.User)
	if err == nil {
		mb, err = s.mailbox(ctx, acct.ID, u)
	}
	if err == nil {
		key, err = ks.URLAuthKey(ctx, mb.ID, nil)
	}
	if err != nil && !errors.Is(err, store.ErrNoAccount) && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if key == nil {
		// RFC 4467 §7: compute a token with a plausible key anyway.
		key = make([]byte, keySize)
		rand.Read(key)
		mb = nil
	}
	ok := hmac.Equal(u.Token, token(key, u.Rump))
	if !ok || mb == nil {
		return nil, fail(ErrDenied, "URLAUTH verification failed")
	}
	return s.open(ctx, mb, u, want)
}

// checkAccess applies the access identifier (RFC 4467 §3): "anonymous"
// admits anyone; "authuser" any authenticated user; "user+X" an IMAP
// session of X; "submit+X" the submission server acting for X.
func checkAccess(u *imapurl.URL, id Identity) error {
	app, user := u.AccessApp()
	switch app {
	case "anonymous":
		return nil
	case "authuser":
		if id.User != "" {
			return nil
		}
	case "user", "submit":
		want := ""
		if app == "submit" {
			want = "submit"
		}
		if id.User != "" && id.Application == want &&
			store.NormalizeAccountName(user) == store.NormalizeAccountName(id.User) {
			return nil
		}
	}
	who := "anonymous"
	if id.User != "" {
		who = "user " + id.User
	}
	return fail(ErrDenied, "No '%s' access allowed for %s", u.Access, who)
}

// Open returns what a plain IMAP URL names, for the owner of the
// session acct (RFC 4469 §5 CATENATE URL parts): the URL must name a
// message, and a user in it must be acct. A URL with URLAUTH is checked
// as URLFETCH would check it for acct.
func (s *Service) Open(ctx context.Context, acct *store.Account, u *imapurl.URL, raw string, want Want) (*Part, error) {
	if u.Access != "" {
		if u.Mechanism == "" {
			return nil, fail(ErrSyntax, "URLAUTH rump URL without a token")
		}
		return s.Fetch(ctx, raw, Identity{User: acct.Name}, want)
	}
	if !u.HasCommand || u.UID == 0 || u.HasSearch {
		return nil, fail(ErrSyntax, "URL does not name a message")
	}
	if u.User != "" && store.NormalizeAccountName(u.User) != acct.Name {
		return nil, fail(ErrDenied, "URL names another user's mailbox")
	}
	if err := s.checkHost(u); err != nil {
		return nil, err
	}
	mb, err := s.mailbox(ctx, acct.ID, u)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, mb, u, want)
}

// ResetKeys forgets the access key of acct's mailbox name, or with
// name "" of all of acct's mailboxes (RFC 4467 §3.1 RESETKEY).
func (s *Service) ResetKeys(ctx context.Context, acct *store.Account, name string) error {
	ks, err := s.keys()
	if err != nil {
		return err
	}
	var id int64
	if name != "" {
		mb, err := s.Store.Mailbox(ctx, acct.ID, name)
		if err != nil {
			return err
		}
		id = mb.ID
	}
	return ks.ResetURLAuthKeys(ctx, acct.ID, id)
}

// mailbox finds the URL's mailbox in the account and checks its
// ;UIDVALIDITY=.
func (s *Service) mailbox(ctx context.Context, accountID int64, u *imapurl.URL) (*store.Mailbox, error) {
	mb, err := s.Store.Mailbox(ctx, accountID, u.Mailbox)
	if errors.Is(err, store.ErrNoMailbox) {
		return nil, fail(ErrNotFound, "Mailbox doesn't exist: %s", u.Mailbox)
	}
	if err != nil {
		return nil, err
	}
	if u.UIDValidity != 0 && u.UIDValidity != mb.UIDValidity {
		return nil, fail(ErrNotFound, "Invalid UIDVALIDITY")
	}
	return mb, nil
}

// open loads the message u names from mb and the part its ;SECTION=
// and ;PARTIAL= select. With want 0 it only checks that they exist.
func (s *Service) open(ctx context.Context, mb *store.Mailbox, u *imapurl.URL, want Want) (*Part, error) {
	var sec imap.Section
	if u.Section != "" {
		var err error
		if sec, err = imapurl.ParseSection(u.Section); err != nil {
			return nil, fail(ErrSyntax, "Invalid URL: %v", err)
		}
	}
	var m store.Message
	found := false
	err := s.Store.FetchMessages(ctx, mb.ID, []store.UID{store.UID(u.UID)}, store.FieldBasics|store.FieldHeader|store.FieldStructure, func(r *store.Message) error {
		m, found = *r, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fail(ErrNotFound, "Message UID %d doesn't exist", u.UID)
	}
	root, err := mime.Unmarshal(m.Structure)
	if err != nil {
		return nil, fmt.Errorf("urlauth: uid %d: corrupt structure: %w", u.UID, err)
	}
	part := root
	if len(sec.Part) > 0 {
		var ok bool
		if part, ok = root.Find(sec.Part); !ok {
			return nil, fail(ErrNotFound, "Message part %s doesn't exist", u.Section)
		}
	}
	if want&(WantBinary|WantStructure) != 0 && sec.Specifier != imap.SectionAll {
		// RFC 5524 §3: BINARY and BODYPARTSTRUCTURE name body parts.
		return nil, fail(ErrSyntax, "BINARY and BODYPARTSTRUCTURE need a section that is a body part")
	}
	p := &Part{}
	if want&WantStructure != 0 {
		if want&WantBinary != 0 && len(part.Children) == 0 && msgdata.BinaryLiteral8(root, sec.Part) {
			// RFC 5524 §3.1: BODYPARTSTRUCTURE describes the part as
			// converted (RFC 5259 §4): with BINARY, a decoded leaf part
			// says "binary" and gives its decoded size and lines.
			n, err := msgdata.BinarySize(root, sec.Part)
			if err != nil {
				return nil, fail(ErrUndecodable, "Can't decode the part: %v", err)
			}
			conv := *part
			conv.Encoding, conv.BodyVSize, conv.BodyLines = "binary", n, binaryLines(ctx, s, &m, root, sec, part.BodyLines)
			p.Structure = msgdata.AppendBodyStructure(nil, &conv, true)
		} else if len(sec.Part) == 0 {
			bs, err := msgdata.BodyStructure(m.Structure, true)
			if err != nil {
				return nil, err
			}
			p.Structure = bs
		} else {
			p.Structure = msgdata.AppendBodyStructure(nil, part, true)
		}
	}
	if want&(WantBody|WantBinary) == 0 {
		return p, nil
	}
	needBlob := want&WantBinary != 0 || msgdata.NeedsBlob(root, sec)
	var ra io.ReaderAt
	if needBlob {
		br, err := s.Blobs.Open(ctx, m.BlobID)
		if err != nil {
			return nil, fmt.Errorf("urlauth: uid %d: %w", u.UID, err)
		}
		p.closer, ra = br, br
	}
	var r io.Reader
	var size int64
	if want&WantBinary != 0 {
		r, size, err = msgdata.Binary(root, ra, sec.Part)
	} else {
		r, size, err = msgdata.Section(root, m.Header, ra, sec)
	}
	if err != nil {
		p.Close()
		if errors.Is(err, msgdata.ErrUnknownCTE) || errors.Is(err, msgdata.ErrBadEncoding) {
			return nil, fail(ErrUndecodable, "Can't decode the part: %v", err)
		}
		return nil, err
	}
	if u.Partial != nil {
		// RFC 5550 §3: octets offset..offset+length of the part as
		// it would be sent, or none past its end.
		sp := imap.Section{Partial: true, Offset: int64(u.Partial.Offset), Count: int64(u.Partial.Length)}
		if sp.Count == 0 {
			sp.Count = size
		}
		if r, size, err = msgdata.Partial(r, size, sp); err != nil {
			p.Close()
			return nil, err
		}
	}
	p.Body, p.Size = r, size
	return p, nil
}

// binaryLines counts the lines of a decoded leaf part (the body-fld-lines
// of its converted BODYPARTSTRUCTURE); def when it cannot be read.
func binaryLines(ctx context.Context, s *Service, m *store.Message, root *mime.Part, sec imap.Section, def int64) int64 {
	br, err := s.Blobs.Open(ctx, m.BlobID)
	if err != nil {
		return def
	}
	defer br.Close()
	r, _, err := msgdata.Binary(root, br, sec.Part)
	if err != nil {
		return def
	}
	var lines int64
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err != nil {
			break
		}
	}
	return lines
}
