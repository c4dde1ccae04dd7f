// Package oracle compares barid with Dovecot: the same IMAP session is
// sent to both servers on loopback and their answers are compared after
// normalising what may legitimately differ (human-readable text after a
// status code, UIDVALIDITY values, dates of "now", capability lists).
//
// The tests run only where Dovecot is installed (Debian: dovecot-imapd);
// otherwise they skip with a message saying so.
package oracle
