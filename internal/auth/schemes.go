package auth

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/md5_crypt"    // $1$ (MD5-CRYPT)
	_ "github.com/GehirnInc/crypt/sha256_crypt" // $5$ (SHA256-CRYPT)
	_ "github.com/GehirnInc/crypt/sha512_crypt" // $6$ (SHA512-CRYPT)
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrUnknownScheme reports a stored password in a scheme barid cannot
// verify (such as NTLM or BSDi extended DES crypt). Such a user cannot
// log in; the source logs it.
var ErrUnknownScheme = errors.New("auth: unsupported password scheme")

// SchemeLimits bound the work one stored hash may ask of a login, so
// that a hostile or mistyped entry in a passwd-file, an LDAP
// userPassword or an SQL column cannot make one login burn minutes of
// CPU. A zero field takes its default. A hash over a limit is refused
// with an error naming the limit (the source logs it; the user cannot
// log in).
type SchemeLimits struct {
	// MaxCryptRounds caps rounds= of SHA-crypt hashes ($5$ and $6$;
	// Drepper's specification allows up to 999,999,999). [limits]
	// crypt_rounds; default DefaultMaxCryptRounds.
	MaxCryptRounds int
	// MaxBcryptCost caps the cost of bcrypt hashes (2^cost rounds of
	// the key schedule; the format allows 31). [limits] bcrypt_cost;
	// default DefaultMaxBcryptCost.
	MaxBcryptCost int
}

// Defaults of SchemeLimits: 10 million SHA-crypt rounds (about 2 s on
// one core; the default of glibc and Dovecot is 5000), bcrypt cost 16
// (about 4 s; Dovecot writes 5, most tools 10 to 12).
const (
	DefaultMaxCryptRounds = 10_000_000
	DefaultMaxBcryptCost  = 16
)

func (l SchemeLimits) cryptRounds() int {
	if l.MaxCryptRounds <= 0 {
		return DefaultMaxCryptRounds
	}
	return l.MaxCryptRounds
}

func (l SchemeLimits) bcryptCost() int {
	if l.MaxBcryptCost <= 0 {
		return DefaultMaxBcryptCost
	}
	return l.MaxBcryptCost
}

// VerifySchemePassword checks password against a stored password in
// Dovecot's "{SCHEME}data" notation (doc/wiki Password Schemes), as
// found in passwd-files, SQL password columns and LDAP userPassword
// attributes (RFC 2307 uses the same braces). A value without a
// "{SCHEME}" prefix is read with defaultScheme ("" means CRYPT, as
// Dovecot's passwd-file default_pass_scheme).
//
// Supported: ARGON2ID, ARGON2I, BLF-CRYPT, SHA512-CRYPT, SHA256-CRYPT,
// MD5-CRYPT, CRYPT (modular crypt $1$ $2*$ $5$ $6$ $argon2*$, and
// traditional 13-character DES crypt), DES-CRYPT,
// SSHA512, SSHA256, SSHA, SHA512, SHA256, SHA (SHA1), PBKDF2, CRAM-MD5,
// PLAIN (also CLEAR, CLEARTEXT). The digest schemes take Dovecot's .HEX
// and .B64 suffixes. Comparisons are constant-time. The default
// SchemeLimits apply.
func VerifySchemePassword(stored, password, defaultScheme string) (bool, error) {
	return SchemeLimits{}.Verify(stored, password, defaultScheme)
}

// Verify is VerifySchemePassword under the limits l.
func (l SchemeLimits) Verify(stored, password, defaultScheme string) (bool, error) {
	scheme, data := splitScheme(stored, defaultScheme)
	enc := ""
	if base, suffix, ok := strings.Cut(scheme, "."); ok {
		scheme, enc = base, suffix
	}
	switch scheme {
	case "PLAIN", "CLEAR", "CLEARTEXT":
		plain := []byte(data)
		if enc != "" {
			// {PLAIN.B64} and {PLAIN.HEX}: the password encoded.
			b, err := decodeDigest(enc, data)
			if err != nil {
				return false, fmt.Errorf("%w: PLAIN.%s", ErrBadSecret, enc)
			}
			plain = b
		}
		return subtle.ConstantTimeCompare(plain, []byte(password)) == 1, nil
	case "ARGON2ID", "ARGON2I":
		return verifyArgon(data, password)
	case "BLF-CRYPT", "BLFCRYPT":
		return l.verifyBcrypt(data, password)
	case "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "MD5", "CRYPT", "DES-CRYPT":
		return l.verifyCrypt(data, password)
	case "SSHA", "SSHA256", "SSHA512", "SMD5":
		return verifySalted(scheme, enc, data, password)
	case "SHA", "SHA1", "SHA256", "SHA512", "PLAIN-MD5", "LDAP-MD5":
		return verifyDigest(scheme, enc, data, password)
	case "PBKDF2":
		return verifyPBKDF2(data, password)
	case "CRAM-MD5", "HMAC-MD5":
		return verifyCRAMMD5(data, password)
	}
	return false, fmt.Errorf("%w: %q", ErrUnknownScheme, scheme)
}

// splitScheme cuts "{SCHEME}data" into its upper-cased scheme and data.
func splitScheme(stored, def string) (string, string) {
	if strings.HasPrefix(stored, "{") {
		if i := strings.IndexByte(stored, '}'); i > 1 {
			return strings.ToUpper(stored[1:i]), stored[i+1:]
		}
	}
	if def == "" {
		def = "CRYPT"
	}
	return strings.ToUpper(def), stored
}

// verifyCrypt handles crypt(3) strings: modular crypt $1$ MD5-crypt,
// $5$ and $6$ SHA-crypt (Drepper, "Unix crypt using SHA-256 and
// SHA-512"), $2a$/$2b$/$2y$ bcrypt and $argon2…$, and traditional DES
// crypt (descrypt.go).
func (l SchemeLimits) verifyCrypt(data, password string) (bool, error) {
	switch {
	case strings.HasPrefix(data, "$2"):
		return l.verifyBcrypt(data, password)
	case strings.HasPrefix(data, "$argon2"):
		return verifyArgon(data, password)
	case strings.HasPrefix(data, "$1$"), strings.HasPrefix(data, "$5$"), strings.HasPrefix(data, "$6$"):
		if r, ok := cryptRounds(data); ok && r > l.cryptRounds() {
			return false, fmt.Errorf("%w: crypt rounds %d over limit crypt_rounds (%d)", ErrBadSecret, r, l.cryptRounds())
		}
		if !crypt.IsHashSupported(data) {
			return false, fmt.Errorf("%w: crypt", ErrUnknownScheme)
		}
		err := crypt.NewFromHash(data).Verify(data, []byte(password))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, crypt.ErrKeyMismatch):
			return false, nil
		}
		return false, fmt.Errorf("%w: crypt: %v", ErrBadSecret, err)
	case isDESCrypt(data):
		return verifyDESCrypt(data, password)
	}
	return false, fmt.Errorf("%w: crypt variant %q", ErrUnknownScheme, prefixOf(data))
}

func prefixOf(s string) string {
	if len(s) > 4 {
		return s[:4]
	}
	return s
}

// cryptRounds reads "rounds=N$" after the $5$/$6$ prefix.
func cryptRounds(data string) (int, bool) {
	rest, ok := strings.CutPrefix(data[3:], "rounds=")
	if !ok {
		return 0, false
	}
	n, _, _ := strings.Cut(rest, "$")
	r, err := strconv.Atoi(n)
	return r, err == nil
}

func (l SchemeLimits) verifyBcrypt(data, password string) (bool, error) {
	if c, err := bcrypt.Cost([]byte(data)); err == nil && c > l.bcryptCost() {
		return false, fmt.Errorf("%w: bcrypt cost %d over limit bcrypt_cost (%d)", ErrBadSecret, c, l.bcryptCost())
	}
	err := bcrypt.CompareHashAndPassword([]byte(data), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("%w: bcrypt: %v", ErrBadSecret, err)
}

// verifyArgon checks a libsodium/PHC string ($argon2id$ or $argon2i$,
// RFC 9106), as Dovecot's ARGON2I and ARGON2ID schemes write.
func verifyArgon(data, password string) (bool, error) {
	id := strings.HasPrefix(data, "$argon2id$")
	if !id && !strings.HasPrefix(data, "$argon2i$") {
		return false, fmt.Errorf("%w: not an argon2 PHC string", ErrBadSecret)
	}
	// parsePHC reads the argon2id prefix; the fields are the same.
	a, err := parsePHC(argonPrefix + data[strings.Index(data[1:], "$")+2:])
	if err != nil {
		return false, err
	}
	var got []byte
	if id {
		got = argon2.IDKey([]byte(password), a.Salt, a.Time, a.Memory, a.Threads, uint32(len(a.Hash)))
	} else {
		got = argon2.Key([]byte(password), a.Salt, a.Time, a.Memory, a.Threads, uint32(len(a.Hash)))
	}
	return subtle.ConstantTimeCompare(got, a.Hash) == 1, nil
}

func schemeHash(scheme string) (func() hash.Hash, int) {
	switch scheme {
	case "SSHA", "SHA", "SHA1":
		return sha1.New, sha1.Size
	case "SSHA256", "SHA256":
		return sha256.New, sha256.Size
	case "SSHA512", "SHA512":
		return sha512.New, sha512.Size
	}
	return md5.New, md5.Size
}

// decodeDigest decodes the data of a digest scheme: base64 unless the
// scheme says .HEX (Dovecot's default encodings for these schemes).
func decodeDigest(enc, data string) ([]byte, error) {
	if strings.EqualFold(enc, "HEX") {
		return hex.DecodeString(data)
	}
	if b, err := base64.StdEncoding.DecodeString(data); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(data)
}

// verifySalted: data is H(password || salt) || salt (SSHA as RFC 2307
// directories and Dovecot write it).
func verifySalted(scheme, enc, data, password string) (bool, error) {
	newH, size := schemeHash(scheme)
	raw, err := decodeDigest(enc, data)
	if err != nil || len(raw) <= size {
		return false, fmt.Errorf("%w: %s", ErrBadSecret, scheme)
	}
	h := newH()
	h.Write([]byte(password))
	h.Write(raw[size:])
	return subtle.ConstantTimeCompare(h.Sum(nil), raw[:size]) == 1, nil
}

func verifyDigest(scheme, enc, data, password string) (bool, error) {
	newH, size := schemeHash(scheme)
	if scheme == "PLAIN-MD5" && enc == "" && len(data) == 2*size {
		enc = "HEX" // Dovecot writes PLAIN-MD5 as hex
	}
	raw, err := decodeDigest(enc, data)
	if err != nil || len(raw) != size {
		return false, fmt.Errorf("%w: %s", ErrBadSecret, scheme)
	}
	h := newH()
	h.Write([]byte(password))
	return subtle.ConstantTimeCompare(h.Sum(nil), raw) == 1, nil
}

// verifyPBKDF2 reads Dovecot's PBKDF2 scheme: "$1$salt$rounds$hex",
// PBKDF2-HMAC-SHA1 with a 20-byte key (the salt is used as text).
func verifyPBKDF2(data, password string) (bool, error) {
	f := strings.Split(data, "$")
	if len(f) != 5 || f[0] != "" || f[1] != "1" {
		return false, fmt.Errorf("%w: PBKDF2", ErrBadSecret)
	}
	rounds, err := strconv.Atoi(f[3])
	if err != nil || rounds < 1 || rounds > maxSCRAMIters {
		return false, fmt.Errorf("%w: PBKDF2 rounds", ErrBadSecret)
	}
	want, err := hex.DecodeString(f[4])
	if err != nil || len(want) == 0 || len(want) > 64 {
		return false, fmt.Errorf("%w: PBKDF2 key", ErrBadSecret)
	}
	got, err := pbkdf2.Key(sha1.New, password, []byte(f[2]), rounds, len(want))
	if err != nil {
		return false, fmt.Errorf("%w: PBKDF2: %v", ErrBadSecret, err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// verifyCRAMMD5 checks a password against Dovecot's CRAM-MD5 scheme:
// the hex of the two MD5 chaining states of HMAC-MD5 keyed with the
// password (RFC 2104: after the inner block key⊕ipad and after the outer
// block key⊕opad), each as four little-endian 32-bit words, outer state
// first. barid keeps such hashes for reading only: a PLAIN login is
// checked by recomputing the states; the CRAM-MD5 mechanism itself is
// not offered.
func verifyCRAMMD5(data, password string) (bool, error) {
	want, err := hex.DecodeString(data)
	if err != nil || len(want) != 32 {
		return false, fmt.Errorf("%w: CRAM-MD5", ErrBadSecret)
	}
	got := cramMD5Context(password)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func cramMD5Context(password string) []byte {
	key := []byte(password)
	if len(key) > 64 {
		s := md5.Sum(key)
		key = s[:]
	}
	state := func(pad byte) []byte {
		block := make([]byte, 64)
		copy(block, key)
		for i := range block {
			block[i] ^= pad
		}
		h := md5.New()
		h.Write(block)
		// The marshalled digest is "md5\x01" then the four state words
		// big-endian (crypto/md5's MarshalBinary layout).
		m, _ := h.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
		out := make([]byte, 16)
		for i := range 4 {
			binary.LittleEndian.PutUint32(out[4*i:], binary.BigEndian.Uint32(m[4+4*i:]))
		}
		return out
	}
	return append(state(0x5c), state(0x36)...)
}
