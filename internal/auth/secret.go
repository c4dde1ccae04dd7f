package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/xdg-go/stringprep"
	"golang.org/x/crypto/argon2"
)

// Params are the cost settings used when a new secret is made.
// Verification always uses the parameters recorded in the secret itself,
// so raising these only affects passwords set afterwards (see NeedsRehash).
type Params struct {
	// Argon2id cost (RFC 9106 §3.1): passes, memory in KiB, lanes.
	ArgonTime    uint32
	ArgonMemory  uint32 // KiB
	ArgonThreads uint8
	// SCRAMIterations is the PBKDF2 iteration count i= for both SCRAM
	// hashes (RFC 5802 §5.1; RFC 7677 §4 asks for at least 4096).
	SCRAMIterations int
	// NoSCRAM leaves the SCRAM keys out of the secret. SCRAM logins then
	// fail for the account; only PLAIN/LOGIN work. Stored SCRAM keys are
	// PBKDF2 and cheaper to brute-force than argon2id, so an operator who
	// fears theft of the database more than cleartext passwords over TLS
	// may prefer this.
	NoSCRAM bool
}

// DefaultParams are the costs for new secrets.
//
// Argon2id: t=2, m=19 MiB, p=1 is the OWASP password-storage minimum for
// argon2id; it keeps a burst of concurrent logins from using gigabytes
// (memory per verification = ArgonMemory), which matters for a mail
// server whose clients log in on every connection. RFC 9106 §4's
// "second recommended option" (t=3, m=64 MiB, p=4) can be set in config.
//
// SCRAM: 15000 iterations (RFC 7677 §4 minimum is 4096). The cost falls
// on the client once per conversation; the server never runs PBKDF2 at
// login time.
func DefaultParams() Params {
	return Params{
		ArgonTime:       2,
		ArgonMemory:     19 * 1024,
		ArgonThreads:    1,
		SCRAMIterations: 15000,
	}
}

// Limits on parameters read from or written into a secret, so that a
// corrupt or hostile record can't make one verification eat the machine.
const (
	maxArgonMemory    = 4 << 20 // KiB = 4 GiB
	maxArgonTime      = 64
	maxSCRAMIters     = 10_000_000
	minSCRAMIters     = 4096 // RFC 5802 §5.1, RFC 7677 §4
	saltLen           = 16
	argonKeyLen       = 32
	secretMagic       = "barid-secret 1"
	argonPrefix       = "$argon2id$"
	lineArgon         = "argon2id"
	scramSHA1Name     = "SCRAM-SHA-1"
	scramSHA256Name   = "SCRAM-SHA-256"
	scramSHA1PlusName = "SCRAM-SHA-1-PLUS"
	scramSHA256Plus   = "SCRAM-SHA-256-PLUS"
)

// ErrBadSecret reports a stored secret that can't be parsed.
var ErrBadSecret = errors.New("auth: malformed stored secret")

// scramHash describes one SCRAM hash function (RFC 5802 §2.2 H/HMAC).
type scramHash struct {
	name string // "scram-sha-1" in the secret, lower case
	new  func() hash.Hash
	size int
}

var (
	hashSHA1   = scramHash{"scram-sha-1", sha1.New, sha1.Size}
	hashSHA256 = scramHash{"scram-sha-256", sha256.New, sha256.Size}
)

// scramKeys is what the server keeps for one SCRAM hash (RFC 5802 §5.1,
// §9: the server stores StoredKey and ServerKey, never SaltedPassword).
type scramKeys struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// argonHash is a parsed PHC string.
type argonHash struct {
	Time, Memory uint32
	Threads      uint8
	Salt, Hash   []byte
}

// secret is the parsed form of store.Account.Secret.
type secret struct {
	Argon  *argonHash
	SHA1   *scramKeys
	SHA256 *scramKeys
	// Imported is a "{SCHEME}data" hash imported from another server
	// (rehash.go); the other fields are then nil.
	Imported string
}

// normalizePassword applies SASLprep (RFC 4013) in stored-string mode as
// RFC 5802 §2.2 Normalize() and RFC 4616 §2 ask. If the password contains
// code points SASLprep prohibits (unassigned in Unicode 3.2, such as emoji,
// or control characters), the raw bytes are used instead, the fallback that
// RFC 5802 §5.1 allows and that clients that skip SASLprep produce anyway.
// The same function is used when a secret is made and when a password is
// checked, so PLAIN and SCRAM agree.
func normalizePassword(pw string) string {
	if p, err := stringprep.SASLprep.Prepare(pw); err == nil && p != "" {
		return p
	}
	return pw
}

// NewSecret hashes password for storage in store.Account.Secret. The
// result holds an argon2id PHC string and the SCRAM-SHA-1 and
// SCRAM-SHA-256 StoredKey/ServerKey with their salts; never the password.
//
// Format (text, one item per line, so an operator can read it):
//
//	barid-secret 1
//	argon2id $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//	scram-sha-1 <iterations> <salt> <StoredKey> <ServerKey>
//	scram-sha-256 <iterations> <salt> <StoredKey> <ServerKey>
//
// PHC fields use unpadded base64; SCRAM fields use padded base64 as on
// the SCRAM wire.
func NewSecret(password string, p Params) ([]byte, error) {
	if password == "" {
		return nil, errors.New("auth: empty password")
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	s := secret{}
	pw := normalizePassword(password)
	salt := make([]byte, saltLen)
	rand.Read(salt)
	s.Argon = &argonHash{
		Time: p.ArgonTime, Memory: p.ArgonMemory, Threads: p.ArgonThreads,
		Salt: salt,
		Hash: argon2.IDKey([]byte(pw), salt, p.ArgonTime, p.ArgonMemory, p.ArgonThreads, argonKeyLen),
	}
	if !p.NoSCRAM {
		for _, h := range []scramHash{hashSHA1, hashSHA256} {
			salt := make([]byte, saltLen)
			rand.Read(salt)
			k, err := deriveSCRAMKeys(h, pw, salt, p.SCRAMIterations)
			if err != nil {
				return nil, err
			}
			if h.name == hashSHA1.name {
				s.SHA1 = k
			} else {
				s.SHA256 = k
			}
		}
	}
	return s.encode(), nil
}

func (p Params) validate() error {
	switch {
	case p.ArgonTime < 1 || p.ArgonTime > maxArgonTime:
		return fmt.Errorf("auth: argon2id time %d out of range 1..%d", p.ArgonTime, maxArgonTime)
	case p.ArgonMemory < 8*uint32(max(p.ArgonThreads, 1)) || p.ArgonMemory > maxArgonMemory:
		return fmt.Errorf("auth: argon2id memory %d KiB out of range", p.ArgonMemory)
	case p.ArgonThreads < 1:
		return errors.New("auth: argon2id threads must be at least 1")
	case !p.NoSCRAM && (p.SCRAMIterations < minSCRAMIters || p.SCRAMIterations > maxSCRAMIters):
		return fmt.Errorf("auth: SCRAM iterations %d out of range %d..%d", p.SCRAMIterations, minSCRAMIters, maxSCRAMIters)
	}
	return nil
}

// deriveSCRAMKeys computes StoredKey and ServerKey (RFC 5802 §3):
//
//	SaltedPassword := Hi(Normalize(password), salt, i)
//	ClientKey      := HMAC(SaltedPassword, "Client Key")
//	StoredKey      := H(ClientKey)
//	ServerKey      := HMAC(SaltedPassword, "Server Key")
//
// pw must already be normalized. Hi is PBKDF2 with HMAC-H (RFC 5802 §2.2).
func deriveSCRAMKeys(h scramHash, pw string, salt []byte, iters int) (*scramKeys, error) {
	salted, err := pbkdf2.Key(h.new, pw, salt, iters, h.size)
	if err != nil {
		return nil, fmt.Errorf("auth: pbkdf2: %w", err)
	}
	clientKey := hmacSum(h, salted, []byte("Client Key"))
	stored := h.new()
	stored.Write(clientKey)
	return &scramKeys{
		Iterations: iters,
		Salt:       bytes.Clone(salt),
		StoredKey:  stored.Sum(nil),
		ServerKey:  hmacSum(h, salted, []byte("Server Key")),
	}, nil
}

func hmacSum(h scramHash, key, msg []byte) []byte {
	m := hmac.New(h.new, key)
	m.Write(msg)
	return m.Sum(nil)
}

// VerifyPassword reports whether password matches the argon2id hash in
// secret. The hash comparison is constant-time. A secret without an
// argon2id hash, or a malformed one, is an error.
func VerifyPassword(secret []byte, password string) (bool, error) {
	s, err := parseSecret(secret)
	if err != nil {
		return false, err
	}
	if s.Argon == nil {
		return false, fmt.Errorf("%w: no argon2id hash", ErrBadSecret)
	}
	return s.Argon.verify(password), nil
}

func (a *argonHash) verify(password string) bool {
	got := argon2.IDKey([]byte(normalizePassword(password)), a.Salt, a.Time, a.Memory, a.Threads, uint32(len(a.Hash)))
	return subtle.ConstantTimeCompare(got, a.Hash) == 1
}

// NeedsRehash reports whether secret was made with weaker argon2id costs
// than p, or lacks SCRAM keys p wants, so that the server can call
// NewSecret with the password it just verified and store the result.
func NeedsRehash(secret []byte, p Params) bool {
	s, err := parseSecret(secret)
	if err != nil || s.Argon == nil {
		return true
	}
	a := s.Argon
	if a.Time < p.ArgonTime || a.Memory < p.ArgonMemory || a.Threads < p.ArgonThreads {
		return true
	}
	if p.NoSCRAM {
		return s.SHA1 != nil || s.SHA256 != nil
	}
	return s.SHA1 == nil || s.SHA256 == nil ||
		s.SHA1.Iterations < p.SCRAMIterations || s.SHA256.Iterations < p.SCRAMIterations
}

func (s *secret) encode() []byte {
	var b strings.Builder
	b.WriteString(secretMagic + "\n")
	if s.Argon != nil {
		b.WriteString(lineArgon + " " + s.Argon.phc() + "\n")
	}
	for _, e := range []struct {
		h scramHash
		k *scramKeys
	}{{hashSHA1, s.SHA1}, {hashSHA256, s.SHA256}} {
		if e.k == nil {
			continue
		}
		fmt.Fprintf(&b, "%s %d %s %s %s\n", e.h.name, e.k.Iterations,
			b64.EncodeToString(e.k.Salt), b64.EncodeToString(e.k.StoredKey), b64.EncodeToString(e.k.ServerKey))
	}
	return []byte(b.String())
}

var (
	b64    = base64.StdEncoding
	b64raw = base64.RawStdEncoding
)

// phc renders the PHC string format used by the argon2 reference
// implementation: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>.
func (a *argonHash) phc() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		a.Memory, a.Time, a.Threads, b64raw.EncodeToString(a.Salt), b64raw.EncodeToString(a.Hash))
}

func parsePHC(s string) (*argonHash, error) {
	bad := func(why string) error { return fmt.Errorf("%w: argon2id: %s", ErrBadSecret, why) }
	if !strings.HasPrefix(s, argonPrefix) {
		return nil, bad("not an argon2id PHC string")
	}
	f := strings.Split(s[len(argonPrefix):], "$")
	if len(f) != 4 {
		return nil, bad("wrong number of fields")
	}
	if f[0] != "v="+strconv.Itoa(argon2.Version) {
		return nil, bad("unsupported version")
	}
	a := &argonHash{}
	seen := 0
	for _, kv := range strings.Split(f[1], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, bad("bad parameter")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, bad("bad parameter value")
		}
		switch k {
		case "m":
			a.Memory, seen = uint32(n), seen|1
		case "t":
			a.Time, seen = uint32(n), seen|2
		case "p":
			if n > 255 {
				return nil, bad("p out of range")
			}
			a.Threads, seen = uint8(n), seen|4
		default:
			return nil, bad("unknown parameter")
		}
	}
	if seen != 7 {
		return nil, bad("missing parameter")
	}
	if a.Time < 1 || a.Time > maxArgonTime || a.Threads < 1 ||
		a.Memory < 8*uint32(a.Threads) || a.Memory > maxArgonMemory {
		return nil, bad("parameters out of range")
	}
	var err error
	if a.Salt, err = b64raw.DecodeString(f[2]); err != nil || len(a.Salt) < 8 {
		return nil, bad("bad salt")
	}
	if a.Hash, err = b64raw.DecodeString(f[3]); err != nil || len(a.Hash) < 16 || len(a.Hash) > 128 {
		return nil, bad("bad hash")
	}
	return a, nil
}

// parseSecret reads the format written by encode. A bare PHC argon2id
// string (as exported by Dovecot's ARGON2ID scheme without the
// "{ARGON2ID}" prefix, or by other tools) is accepted too, so hashes can
// be imported; such accounts can use PLAIN/LOGIN but not SCRAM until the
// password is set again.
func parseSecret(b []byte) (*secret, error) {
	str := string(b)
	if isImportedSecret(b) {
		return &secret{Imported: strings.TrimSpace(str)}, nil
	}
	if strings.HasPrefix(str, argonPrefix) {
		a, err := parsePHC(strings.TrimSpace(str))
		if err != nil {
			return nil, err
		}
		return &secret{Argon: a}, nil
	}
	lines := strings.Split(strings.TrimRight(str, "\n"), "\n")
	if lines[0] != secretMagic {
		return nil, fmt.Errorf("%w: unknown format", ErrBadSecret)
	}
	s := &secret{}
	for _, ln := range lines[1:] {
		f := strings.Fields(ln)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case lineArgon:
			if len(f) != 2 || s.Argon != nil {
				return nil, fmt.Errorf("%w: argon2id line", ErrBadSecret)
			}
			a, err := parsePHC(f[1])
			if err != nil {
				return nil, err
			}
			s.Argon = a
		case hashSHA1.name, hashSHA256.name:
			h := hashSHA1
			dst := &s.SHA1
			if f[0] == hashSHA256.name {
				h, dst = hashSHA256, &s.SHA256
			}
			if *dst != nil {
				return nil, fmt.Errorf("%w: duplicate %s", ErrBadSecret, h.name)
			}
			k, err := parseSCRAMLine(h, f[1:])
			if err != nil {
				return nil, err
			}
			*dst = k
		default:
			// Unknown items are skipped so a newer barid can add some
			// without breaking an older one reading the same database.
		}
	}
	return s, nil
}

func parseSCRAMLine(h scramHash, f []string) (*scramKeys, error) {
	bad := fmt.Errorf("%w: %s line", ErrBadSecret, h.name)
	if len(f) != 4 {
		return nil, bad
	}
	it, err := strconv.Atoi(f[0])
	if err != nil || it < 1 || it > maxSCRAMIters {
		return nil, bad
	}
	k := &scramKeys{Iterations: it}
	if k.Salt, err = b64.DecodeString(f[1]); err != nil || len(k.Salt) == 0 {
		return nil, bad
	}
	if k.StoredKey, err = b64.DecodeString(f[2]); err != nil || len(k.StoredKey) != h.size {
		return nil, bad
	}
	if k.ServerKey, err = b64.DecodeString(f[3]); err != nil || len(k.ServerKey) != h.size {
		return nil, bad
	}
	return k, nil
}
