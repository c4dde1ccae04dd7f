// Package auth verifies logins for barid: password storage, SASL server
// mechanisms, failed-login delays and connection limits.
//
// # Secrets
//
// store.Account.Secret is opaque to the store; NewSecret fills it with an
// argon2id hash (RFC 9106, PHC string format) for PLAIN/LOGIN and the
// salted SCRAM keys StoredKey and ServerKey (RFC 5802 §3, §9) for
// SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 7677). The password itself is never
// kept. Passwords are prepared with SASLprep (RFC 4013) before hashing,
// falling back to the raw bytes when SASLprep rejects them.
//
// # Mechanisms
//
// Start returns a Mechanism for PLAIN (RFC 4616, on emersion/go-sasl),
// LOGIN (draft-murchison-sasl-login), SCRAM-SHA-1, SCRAM-SHA-256 and the
// channel-bound SCRAM-SHA-1-PLUS and SCRAM-SHA-256-PLUS (RFC 5802 §6,
// tls-exporter per RFC 9266 or tls-server-end-point per RFC 5929). The
// SCRAM server is written here on crypto/hmac, crypto/sha1, crypto/sha256
// and crypto/pbkdf2 and is tested against github.com/xdg-go/scram's
// client and the RFC 5802 §5 and RFC 7677 §3 example exchanges.
//
// How a Mechanism maps onto IMAP AUTHENTICATE (RFC 9051 §6.2.2, SASL-IR
// RFC 4959) is described on Mechanism.Next. In short: SCRAM's
// server-final "v=" is sent as a last "+ " challenge, answered by an
// empty line, and only then does Next report done.
//
// # Throttling
//
// A failed login is delayed by FailureDelay, growing by IPGrowth per
// further failure from the same address (IPv6: /64) and by UserGrowth per
// further failure for the same account name, capped at MaxFailureDelay and
// forgotten after FailureWindow. The delay owed is also paid before the
// next attempt is checked, so a client can't learn a guess failed by
// giving up early; it counts towards that attempt's own failure delay,
// so one failed attempt waits at most MaxFailureDelay in all. Successes do not reset the counts (an attacker with
// one valid account could otherwise wash its address clean). Unknown
// users are checked against a dummy argon2id hash and get the same
// error in the same time as wrong passwords. Loopback is not exempt.
//
// AcquireConn and AcquireSession enforce max_conns_per_ip,
// conn_rate_per_ip, max_conns_per_user and max_conns_per_user_ip;
// TrustedNetworks skip the ones that count addresses.
//
// Nothing here logs a password or a client SASL message; user names are
// logged quoted and truncated.
package auth
