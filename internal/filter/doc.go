// Package filter runs Sieve (internal/sieve) for barid: the script
// service that ManageSieve and "barid sieve" share (names, size and
// count limits, compile checks), the delivery step that runs a
// recipient's active script once per message and applies its actions
// in one store transaction, and the outbox that sends the mail scripts
// make (redirect, vacation, reject) to the [sieve] smtp smarthost from
// a spool that survives restarts.
//
// docs/sieve.md describes the behaviour; where the RFCs leave room it
// follows Dovecot's Pigeonhole.
package filter
