package auth

import (
	"context"
	"errors"
	"strings"
)

// Imported hashes and re-hashing at login.
//
// A builtin account's secret is normally barid's own (NewSecret:
// argon2id plus SCRAM keys). It may instead hold a hash imported from
// another server, such as Dovecot's passdb, so nobody has to reset a
// password when moving to barid (barid user add --hash):
//
//   - Dovecot's "{SCHEME}data" notation, one line, any scheme
//     VerifySchemePassword reads (SHA512-CRYPT, BLF-CRYPT, SSHA, DES
//     crypt, …);
//   - a bare argon2id PHC string (parseSecret), which has no SCRAM keys.
//
// When such an account logs in with the right password, the
// Authenticator replaces the secret with NewSecret of that password at
// the configured costs ([auth] rehash_on_login, on by default; Config
// NoRehash turns it off), as mox and Stalwart do and Dovecot does not:
// the old, often fast hash is gone from the store after the first
// login, and SCRAM works from then on. Only sources barid may write are
// re-hashed: the builtin store (Accounts that implement SecretReplacer).
// passwd-files, LDAP directories and SQL tables belong to their owners
// and are never written. The swap is conditional on the secret read
// before the check (store.Store ReplaceAccountSecret), so a password
// changed meanwhile is not undone. A failed re-hash is logged and the
// login succeeds all the same.
//
// A barid secret made with lower argon2id costs than the configured
// ones is not re-hashed: it is already argon2id (NeedsRehash tells).

// SecretReplacer is implemented by Accounts whose secrets barid may
// rewrite (StoreAccounts: the builtin store).
type SecretReplacer interface {
	// ReplaceSecret sets the secret of accountID to new if it is still
	// old, and reports whether it did.
	ReplaceSecret(ctx context.Context, accountID int64, old, new []byte) (bool, error)
}

// isImportedSecret reports a secret in Dovecot's "{SCHEME}data"
// notation.
func isImportedSecret(raw []byte) bool {
	return len(raw) > 2 && raw[0] == '{'
}

// CheckImportedHash checks that stored, a "{SCHEME}data" hash to be
// kept as a builtin account's secret, names a scheme barid reads and is
// well-formed, so that an import fails at once rather than at the
// user's first login. It verifies one random password against it, so a
// costly hash costs that once.
func CheckImportedHash(stored string, lim SchemeLimits) error {
	if !isImportedSecret([]byte(stored)) || strings.ContainsAny(stored, "\r\n") {
		return errors.New(`auth: an imported hash is one line "{SCHEME}data"`)
	}
	if _, err := lim.Verify(stored, "\x00barid-import-check", ""); err != nil {
		return err
	}
	return nil
}

// importedScheme names the scheme of an imported secret, for the log.
func importedScheme(raw []byte) string {
	s, _ := splitScheme(string(raw), "")
	return s
}

// verifyImported checks password against an imported "{SCHEME}data"
// secret, under MaxConcurrentHashes (some schemes cost as much as
// argon2id).
func (a *Authenticator) verifyImported(ctx context.Context, stored, password string) (bool, error) {
	select {
	case a.hashSem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.hashSem }()
	a.hashes.Add(1)
	return a.cfg.SchemeLimits.Verify(stored, password, "")
}

// rehash replaces an imported or bare-PHC secret (raw, just verified
// with password) with a barid secret at the configured costs, where the
// accounts are writable and re-hashing is on. It returns the secret the
// account now has (raw when nothing was written).
func (a *Authenticator) rehash(ctx context.Context, id int64, username string, raw []byte, s *secret, password string) []byte {
	if a.cfg.NoRehash {
		return raw
	}
	var from string
	switch {
	case s.Imported != "":
		from = importedScheme(raw)
	case s.SHA1 == nil && s.SHA256 == nil && !a.cfg.Params.NoSCRAM:
		from = "argon2id without SCRAM keys"
	default:
		return raw
	}
	w, ok := a.accts.(SecretReplacer)
	if !ok {
		return raw
	}
	select {
	case a.hashSem <- struct{}{}:
	case <-ctx.Done():
		return raw
	}
	nw, err := NewSecret(password, a.cfg.Params)
	<-a.hashSem
	if err != nil {
		a.log.Warn("re-hash failed", "user", logName(username), "from", from, "err", err)
		return raw
	}
	done, err := w.ReplaceSecret(ctx, id, raw, nw)
	switch {
	case err != nil:
		a.log.Warn("re-hash not stored", "user", logName(username), "from", from, "err", err)
		return raw
	case !done:
		a.log.Info("re-hash skipped: the password changed meanwhile", "user", logName(username))
		return raw
	}
	a.rehashes.Add(1)
	a.log.Info("password re-hashed", "user", logName(username), "from", from, "to", "argon2id")
	return nw
}

// Rehashes returns how many secrets were re-hashed at login.
func (a *Authenticator) Rehashes() int64 { return a.rehashes.Load() }
