// Package interop holds barid's real-client interoperability suite: tests
// that start a full barid on loopback and drive it with mail clients
// nobody here wrote, the way users run them (mbsync/isync, offlineimap3,
// fetchmail, curl). Every test checks that the bytes a client receives
// equal the bytes barid stores, after undoing only the documented
// transformations the client itself applies (see docs/clients.md and the
// QUIRK comments beside each test).
//
// The package has no non-test code; this file exists for the package
// comment. A test whose client binary is missing skips with a message
// naming the binary and the Debian package that provides it (.ci/run
// installs them).
package interop
