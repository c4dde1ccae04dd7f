// Package managesieve is barid's ManageSieve server (RFC 5804): users
// upload, list, check, activate, download, rename and delete their Sieve
// scripts from Thunderbird (sieve add-on), Roundcube's managesieve
// plugin, K-9 or sieve-connect.
//
// The package stays thin: parse.go is the wire reader (strings, quoted
// and literal, atoms, numbers), pure and fuzzed; commands.go is the
// command table; each handler calls the script service (Scripts,
// implemented by internal/filter) and renders its answer. Logins go
// through internal/auth, with the same SASL mechanisms, failure delays
// and connection limits as IMAP and POP3.
//
// Where RFC 5804 leaves room, barid answers as Dovecot's Pigeonhole
// does: the capability list is re-sent after STARTTLS (§2.2) but not
// after AUTHENTICATE, a quoted string is at most 1024 octets (§4), and
// both {n} and {n+} literals are accepted from clients without a
// continuation.
package managesieve
