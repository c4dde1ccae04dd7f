// Package testkit is the one test harness of barid: a whole server
// (internal/app wiring, SQLite + blob files) started in the test's
// process on loopback, a raw line-oriented IMAP client for transcripts
// and hand-written sessions, and the helpers the protocol, end-to-end,
// interop and oracle tests share (matching response lines, quoting,
// finding client binaries, test messages).
//
// Every test package that needs a running barid uses Start; one that
// builds its own protocol server on the real backends (internal/lmtp's
// unit fixture) opens them with OpenData; a client tested against
// answers barid never gives (internal/bench's IMAP client) talks to a
// scripted FakeServer; raw SMTP and LMTP sessions use SMTPConn. A
// package that needs something the kit lacks adds it here rather than
// keeping its own copy.
package testkit
